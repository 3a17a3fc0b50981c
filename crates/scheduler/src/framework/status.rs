//! The result of a plugin at an extension point (`framework.Status`): a code and the reasons a
//! user reads in `kubectl describe pod`.

use std::fmt;

/// What a plugin decided (`framework.Code`), with the same meanings as in Kubernetes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    /// The plugin ran and the Pod may go on.
    Success,
    /// Something broke (not the Pod's fault); the Pod is retried with back-off.
    Error,
    /// The Pod does not fit now; preemption may help.
    Unschedulable,
    /// The Pod does not fit and preemption cannot help (a missing label, a taint, …).
    UnschedulableAndUnresolvable,
    /// A Permit plugin asks the Pod to wait.
    Wait,
    /// The plugin has nothing to do for this Pod (PreFilter and PreScore): its Filter or Score
    /// is skipped in this cycle.
    Skip,
    /// The Pod waits for something outside the scheduler (a Permit or PreEnqueue decision).
    Pending,
}

/// A plugin's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    code: Code,
    reasons: Vec<String>,
    plugin: &'static str,
}

impl Status {
    pub const fn success() -> Status {
        Status { code: Code::Success, reasons: Vec::new(), plugin: "" }
    }

    pub fn new(code: Code, reason: impl Into<String>) -> Status {
        Status { code, reasons: vec![reason.into()], plugin: "" }
    }

    pub fn with_reasons(code: Code, reasons: Vec<String>) -> Status {
        Status { code, reasons, plugin: "" }
    }

    pub fn unschedulable(reason: impl Into<String>) -> Status {
        Status::new(Code::Unschedulable, reason)
    }

    pub fn unresolvable(reason: impl Into<String>) -> Status {
        Status::new(Code::UnschedulableAndUnresolvable, reason)
    }

    pub fn error(reason: impl Into<String>) -> Status {
        Status::new(Code::Error, reason)
    }

    pub const fn skip() -> Status {
        Status { code: Code::Skip, reasons: Vec::new(), plugin: "" }
    }

    /// The same status, recorded as coming from `plugin`.
    pub fn from_plugin(mut self, plugin: &'static str) -> Status {
        self.plugin = plugin;
        self
    }

    pub fn code(&self) -> Code {
        self.code
    }

    pub fn reasons(&self) -> &[String] {
        &self.reasons
    }

    /// The plugin that returned it (empty for a status made by the framework).
    pub fn plugin(&self) -> &'static str {
        self.plugin
    }

    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }

    pub fn is_skip(&self) -> bool {
        self.code == Code::Skip
    }

    /// Unschedulable or UnschedulableAndUnresolvable: the Pod does not fit.
    pub fn is_rejected(&self) -> bool {
        matches!(self.code, Code::Unschedulable | Code::UnschedulableAndUnresolvable)
    }

    /// The reasons joined as Kubernetes' `Status.Message()` does.
    pub fn message(&self) -> String {
        self.reasons.join(", ")
    }
}

impl Default for Status {
    fn default() -> Self {
        Status::success()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message())
    }
}
