//! The container's process as Kubernetes defines it: `command` replaces ENTRYPOINT, `args`
//! replace CMD, the spec's env comes after the image's, the user is looked up in the image's
//! /etc/passwd and /etc/group. Pure functions; the caller reads the files.

use oci_spec::image::Config as ImageConfig;

use super::config::ContainerConfig;

/// Errors resolving the process.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProcessError {
    #[error("no command: the image has no ENTRYPOINT or CMD and none was given")]
    NoCommand,
    #[error("unable to find user {0}: no matching entries in passwd file")]
    UnknownUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    UnknownGroup(String),
}

/// What will run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
}

const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Kubernetes' rule (`kuberuntime_container.go`): command → ENTRYPOINT replaced and CMD
/// dropped; args only → image ENTRYPOINT + args; neither → ENTRYPOINT + CMD.
pub fn command_line(image: Option<&ImageConfig>, command: &[String], args: &[String]) -> Vec<String> {
    let entrypoint = image.and_then(|c| c.entrypoint().clone()).unwrap_or_default();
    let cmd = image.and_then(|c| c.cmd().clone()).unwrap_or_default();
    match (command.is_empty(), args.is_empty()) {
        (false, _) => command.iter().chain(args).cloned().collect(),
        (true, false) => entrypoint.into_iter().chain(args.iter().cloned()).collect(),
        (true, true) => entrypoint.into_iter().chain(cmd).collect(),
    }
}

/// The image's environment, then the spec's (same names replaced in place), PATH defaulted.
pub fn environment(image: Option<&ImageConfig>, spec: &[(String, String)], hostname: &str) -> Vec<String> {
    let mut env: Vec<String> = image.and_then(|c| c.env().clone()).unwrap_or_default();
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(0, DEFAULT_PATH.to_string());
    }
    let mut set = |name: &str, value: &str| {
        let entry = format!("{name}={value}");
        match env.iter_mut().find(|e| e.split_once('=').map(|(n, _)| n) == Some(name)) {
            Some(slot) => *slot = entry,
            None => env.push(entry),
        }
    };
    set("HOSTNAME", hostname);
    for (name, value) in spec {
        set(name, value);
    }
    env
}

struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
}

fn passwd_entries(passwd: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    passwd.lines().filter_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let _password = f.next()?;
        let uid = f.next()?.parse().ok()?;
        let gid = f.next()?.parse().ok()?;
        Some(PasswdEntry { name, uid, gid })
    })
}

/// (name, gid, members) of each group line.
fn group_entries(group: &str) -> impl Iterator<Item = (&str, u32, Vec<&str>)> {
    group.lines().filter_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let _password = f.next()?;
        let gid = f.next()?.parse().ok()?;
        let members = f.next().unwrap_or("").split(',').filter(|m| !m.is_empty()).collect();
        Some((name, gid, members))
    })
}

/// Resolves `user` (`uid`, `uid:gid`, `name`, `name:group`; empty means root) against the
/// image's passwd and group files, as runc's `user.GetExecUser` does: a numeric uid need not
/// exist; the primary gid comes from passwd when not given; supplementary groups are the
/// groups listing the user by name, then `extra`.
pub fn resolve_user(
    user: &str,
    passwd: &str,
    group: &str,
    extra: &[u32],
) -> Result<(u32, u32, Vec<u32>), ProcessError> {
    let (user_part, group_part) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let user_part = if user_part.is_empty() { "0" } else { user_part };
    let entry = passwd_entries(passwd).find(|e| e.name == user_part || e.uid.to_string() == user_part);
    let (uid, mut gid, name) = match (user_part.parse::<u32>(), entry) {
        (_, Some(e)) => (e.uid, e.gid, Some(e.name)),
        (Ok(uid), None) => (uid, 0, None),
        (Err(_), None) => return Err(ProcessError::UnknownUser(user_part.to_string())),
    };
    if let Some(g) = group_part.filter(|g| !g.is_empty()) {
        gid = match group_entries(group).find(|(n, _, _)| *n == g) {
            Some((_, id, _)) => id,
            None => g.parse().map_err(|_| ProcessError::UnknownGroup(g.to_string()))?,
        };
    }
    let mut additional: Vec<u32> = Vec::new();
    if group_part.is_none() {
        if let Some(name) = name {
            for (_, id, members) in group_entries(group) {
                if members.contains(&name) && !additional.contains(&id) {
                    additional.push(id);
                }
            }
        }
    }
    for g in extra {
        if !additional.contains(g) {
            additional.push(*g);
        }
    }
    Ok((uid, gid, additional))
}

/// The whole process: arguments, environment, working directory and identity.
pub fn resolve(
    config: &ContainerConfig,
    image: Option<&ImageConfig>,
    hostname: &str,
    passwd: &str,
    group: &str,
) -> Result<Process, ProcessError> {
    let args = command_line(image, &config.command, &config.args);
    if args.is_empty() {
        return Err(ProcessError::NoCommand);
    }
    let env = environment(image, &config.env, hostname);
    let cwd = config
        .working_dir
        .clone()
        .or_else(|| image.and_then(|c| c.working_dir().clone()))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "/".to_string());
    let user = config.user.clone().or_else(|| image.and_then(|c| c.user().clone())).unwrap_or_default();
    let (uid, gid, additional_gids) = resolve_user(&user, passwd, group, &config.supplemental_groups)?;
    Ok(Process { args, env, cwd, uid, gid, additional_gids })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::image::ConfigBuilder;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn image() -> ImageConfig {
        ConfigBuilder::default()
            .entrypoint(s(&["/entry"]))
            .cmd(s(&["serve", "--port=80"]))
            .env(s(&["PATH=/bin", "A=image", "B=image"]))
            .working_dir("/srv".to_string())
            .user("www".to_string())
            .build()
            .unwrap()
    }

    #[test]
    fn command_and_args_follow_kubernetes() {
        let img = image();
        assert_eq!(command_line(Some(&img), &[], &[]), s(&["/entry", "serve", "--port=80"]));
        assert_eq!(command_line(Some(&img), &[], &s(&["x"])), s(&["/entry", "x"]));
        assert_eq!(command_line(Some(&img), &s(&["sh"]), &[]), s(&["sh"]));
        assert_eq!(command_line(Some(&img), &s(&["sh"]), &s(&["-c", "true"])), s(&["sh", "-c", "true"]));
        assert_eq!(command_line(None, &[], &[]), Vec::<String>::new());
    }

    #[test]
    fn spec_env_overrides_image_env_in_place() {
        let img = image();
        let env = environment(Some(&img), &[("B".into(), "spec".into()), ("C".into(), "spec".into())], "h");
        assert_eq!(env, s(&["PATH=/bin", "A=image", "B=spec", "HOSTNAME=h", "C=spec"]));
        assert!(environment(None, &[], "h")[0].starts_with("PATH=/usr/local/sbin"));
    }

    const PASSWD: &str =
        "root:x:0:0:root:/root:/bin/sh\nwww:x:33:34::/srv:/bin/false\nnobody:x:65534:65534::/:/bin/false\n";
    const GROUP: &str = "root:x:0:\nwww-data:x:34:\nadm:x:4:www,other\nstaff:x:50:www\nnogroup:x:65534:\n";

    #[test]
    fn users_by_name_number_and_group() {
        assert_eq!(resolve_user("", PASSWD, GROUP, &[]), Ok((0, 0, vec![])));
        assert_eq!(resolve_user("www", PASSWD, GROUP, &[]), Ok((33, 34, vec![4, 50])));
        assert_eq!(resolve_user("33", PASSWD, GROUP, &[7]), Ok((33, 34, vec![4, 50, 7])));
        assert_eq!(resolve_user("1234", PASSWD, GROUP, &[]), Ok((1234, 0, vec![])));
        assert_eq!(resolve_user("www:nogroup", PASSWD, GROUP, &[]), Ok((33, 65534, vec![])));
        assert_eq!(resolve_user("1000:1000", "", "", &[]), Ok((1000, 1000, vec![])));
        assert_eq!(resolve_user("ghost", PASSWD, GROUP, &[]), Err(ProcessError::UnknownUser("ghost".into())));
        assert_eq!(resolve_user("www:ghosts", PASSWD, GROUP, &[]), Err(ProcessError::UnknownGroup("ghosts".into())));
    }

    #[test]
    fn whole_process_uses_image_defaults() {
        let img = image();
        let cfg = ContainerConfig { args: s(&["x"]), ..Default::default() };
        let p = resolve(&cfg, Some(&img), "h", PASSWD, GROUP).unwrap();
        assert_eq!((p.cwd.as_str(), p.uid, p.gid), ("/srv", 33, 34));
        let cfg = ContainerConfig { user: Some("0".into()), working_dir: Some("/tmp".into()), ..Default::default() };
        let p = resolve(&cfg, Some(&img), "h", PASSWD, GROUP).unwrap();
        assert_eq!((p.cwd.as_str(), p.uid), ("/tmp", 0));
        assert_eq!(resolve(&ContainerConfig::default(), None, "h", "", ""), Err(ProcessError::NoCommand));
    }
}
