//! Data plugins keep for the length of one scheduling cycle (`framework.CycleState`), keyed
//! by plugin; cloned for preemption's what-ifs.

use std::any::Any;
use std::collections::HashMap;

/// One plugin's data for a cycle.
pub trait StateData: Any + Send + Sync {
    fn clone_box(&self) -> Box<dyn StateData>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Clone + Send + Sync> StateData for T {
    fn clone_box(&self) -> Box<dyn StateData> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// The plugins' data for one cycle, plus which plugins chose to skip Filter or Score.
#[derive(Default)]
pub struct CycleState {
    data: HashMap<&'static str, Box<dyn StateData>>,
    pub skip_score: Vec<&'static str>,
    /// By position in the profile's filter list: the filters whose plugin skipped PreFilter.
    pub filter_skipped: Vec<bool>,
}

impl Clone for CycleState {
    fn clone(&self) -> Self {
        CycleState {
            data: self.data.iter().map(|(k, v)| (*k, (**v).clone_box())).collect(),
            skip_score: self.skip_score.clone(),
            filter_skipped: self.filter_skipped.clone(),
        }
    }
}

impl CycleState {
    pub fn write<T: StateData>(&mut self, key: &'static str, value: T) {
        self.data.insert(key, Box::new(value));
    }

    pub fn read<T: 'static>(&self, key: &'static str) -> Option<&T> {
        self.data.get(key).and_then(|d| (**d).as_any().downcast_ref())
    }

    pub fn read_mut<T: 'static>(&mut self, key: &'static str) -> Option<&mut T> {
        self.data.get_mut(key).and_then(|d| (**d).as_any_mut().downcast_mut())
    }
}
