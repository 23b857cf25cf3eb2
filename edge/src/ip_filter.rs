//! The IP allow/deny filter: CIDR lists from the configuration and from files that are polled
//! every second (modification time and size) and re-read when they change.
//!
//! Polling rather than file-system notifications: one `stat` per file per second costs nothing,
//! works the same for files replaced by rename (editors, configuration management) and on every
//! file system, and needs no extra dependency.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use accord_config::{EdgeIpFilterConfig, IpNet};
use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;

/// How often the list files are checked for changes.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// One set of allow and deny ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpLists {
    /// Ranges let in; when empty, everything not denied is.
    pub allow: Vec<IpNet>,
    /// Ranges refused, whatever `allow` says.
    pub deny: Vec<IpNet>,
}

impl IpLists {
    /// Whether `ip` may pass: a deny entry wins; a non-empty allow list admits only its ranges.
    pub fn permits(&self, ip: IpAddr) -> bool {
        if self.deny.iter().any(|net| net.contains(ip)) {
            return false;
        }
        self.allow.is_empty() || self.allow.iter().any(|net| net.contains(ip))
    }
}

/// Parses a list file: one address or CIDR range per line; `#` starts a comment; blank lines
/// are skipped. An error names the line.
pub fn parse_list(text: &str) -> Result<Vec<IpNet>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let entry = line.split('#').next().unwrap_or_default().trim();
        if entry.is_empty() {
            continue;
        }
        let net = entry
            .parse::<IpNet>()
            .map_err(|e| format!("line {}: {e}", i + 1))?;
        out.push(net);
    }
    Ok(out)
}

/// Parses configuration entries (already checked by the configuration's validation).
fn parse_entries(entries: &[String], key: &str) -> Result<Vec<IpNet>, String> {
    entries
        .iter()
        .map(|e| {
            e.parse::<IpNet>()
                .map_err(|err| format!("edge.ip_filter.{key}: `{e}`: {err}"))
        })
        .collect()
}

/// Whether a file adds to the allow or the deny list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Allow,
    Deny,
}

/// A list file and what was last read from it.
#[derive(Debug)]
struct ListFile {
    path: PathBuf,
    kind: Kind,
    /// Modification time and size when last read (or last failed to read).
    stamp: Option<(SystemTime, u64)>,
    entries: Vec<IpNet>,
    /// Whether the last attempt failed (so a failure is logged once, not every second).
    failing: bool,
}

fn stamp(path: &Path) -> std::io::Result<(SystemTime, u64)> {
    let meta = std::fs::metadata(path)?;
    Ok((meta.modified()?, meta.len()))
}

fn read_list(path: &Path) -> Result<Vec<IpNet>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    parse_list(&text)
}

/// The filter: the configured ranges plus those of the list files, swapped as a whole when a
/// file changes.
#[derive(Debug)]
pub struct IpFilter {
    configured: IpLists,
    files: Mutex<Vec<ListFile>>,
    current: RwLock<Arc<IpLists>>,
}

impl IpFilter {
    /// Builds the filter from `[edge.ip_filter]`, reading every list file; a file that cannot
    /// be read or parsed is an error here (later changes that fail keep the previous entries).
    pub fn from_config(config: &EdgeIpFilterConfig) -> Result<Self, String> {
        let configured = IpLists {
            allow: parse_entries(&config.allow, "allow")?,
            deny: parse_entries(&config.deny, "deny")?,
        };
        let mut files = Vec::new();
        let named = config
            .allow_files
            .iter()
            .map(|p| (p, Kind::Allow))
            .chain(config.deny_files.iter().map(|p| (p, Kind::Deny)));
        for (path, kind) in named {
            let path = PathBuf::from(path);
            let key = match kind {
                Kind::Allow => "allow_files",
                Kind::Deny => "deny_files",
            };
            let stamp = stamp(&path)
                .map_err(|e| format!("edge.ip_filter.{key}: {}: {e}", path.display()))?;
            let entries = read_list(&path)
                .map_err(|e| format!("edge.ip_filter.{key}: {}: {e}", path.display()))?;
            files.push(ListFile {
                path,
                kind,
                stamp: Some(stamp),
                entries,
                failing: false,
            });
        }
        let current = combine(&configured, &files);
        Ok(Self {
            configured,
            files: Mutex::new(files),
            current: RwLock::new(Arc::new(current)),
        })
    }

    /// The lists in force.
    pub fn lists(&self) -> Arc<IpLists> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether `ip` may pass.
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.lists().permits(ip)
    }

    /// Re-reads the files whose modification time or size changed; returns whether the lists
    /// changed. A file that cannot be read or parsed keeps its previous entries (and is logged).
    pub fn reload_changed(&self) -> bool {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let mut changed = false;
        for file in files.iter_mut() {
            let now = stamp(&file.path).ok();
            if now.is_some() && now == file.stamp {
                continue;
            }
            match (now, now.map(|_| read_list(&file.path))) {
                (Some(stamp), Some(Ok(entries))) => {
                    file.stamp = Some(stamp);
                    file.failing = false;
                    if entries != file.entries {
                        tracing::info!(
                            "edge: reloaded {} ({} entries)",
                            file.path.display(),
                            entries.len()
                        );
                        file.entries = entries;
                        changed = true;
                    }
                }
                (stamp, result) => {
                    file.stamp = stamp;
                    if !file.failing {
                        let why = match result {
                            Some(Err(e)) => e,
                            _ => "cannot be read".to_owned(),
                        };
                        tracing::warn!(
                            "edge: keeping the previous entries of {}: {why}",
                            file.path.display()
                        );
                    }
                    file.failing = true;
                }
            }
        }
        if changed {
            let lists = combine(&self.configured, &files);
            *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(lists);
        }
        changed
    }
}

fn combine(configured: &IpLists, files: &[ListFile]) -> IpLists {
    let mut lists = configured.clone();
    for file in files {
        let target = match file.kind {
            Kind::Allow => &mut lists.allow,
            Kind::Deny => &mut lists.deny,
        };
        target.extend(file.entries.iter().copied());
    }
    lists
}

/// The background task polling the list files every [`POLL_INTERVAL`].
pub struct FileWatcher(pub Arc<IpFilter>);

#[async_trait]
impl BackgroundService for FileWatcher {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                () = tokio::time::sleep(POLL_INTERVAL) => {}
            }
            let filter = self.0.clone();
            // File reads are blocking I/O; keep them off the proxy's worker threads.
            let _ = tokio::task::spawn_blocking(move || filter.reload_changed()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn list_files_parse_with_comments_and_report_bad_lines() {
        let text = "# blocked\n203.0.113.0/24  # a range\n\n  2001:db8::/32\n198.51.100.7\n";
        assert_eq!(
            parse_list(text).unwrap(),
            nets(&["203.0.113.0/24", "2001:db8::/32", "198.51.100.7/32"])
        );
        assert_eq!(parse_list("").unwrap(), []);
        let err = parse_list("10.0.0.0/8\n10.0.0.0/40\n").unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
        assert!(parse_list("example.com").is_err());
    }

    #[test]
    fn deny_wins_and_a_non_empty_allow_list_admits_only_its_ranges() {
        let open = IpLists::default();
        assert!(open.permits(ip("192.0.2.1")));
        let deny = IpLists {
            allow: vec![],
            deny: nets(&["192.0.2.0/24", "2001:db8::/32"]),
        };
        assert!(!deny.permits(ip("192.0.2.200")));
        assert!(!deny.permits(ip("2001:db8::1")));
        assert!(!deny.permits(ip("::ffff:192.0.2.9")), "IPv4-mapped");
        assert!(deny.permits(ip("192.0.3.1")));
        let both = IpLists {
            allow: nets(&["10.0.0.0/8", "::1"]),
            deny: nets(&["10.1.0.0/16"]),
        };
        assert!(both.permits(ip("10.2.3.4")));
        assert!(both.permits(ip("::1")));
        assert!(!both.permits(ip("10.1.2.3")), "deny wins");
        assert!(!both.permits(ip("127.0.0.1")), "not allowed");
    }

    #[test]
    fn files_are_read_at_start_and_reloaded_when_they_change() {
        let dir = std::env::temp_dir().join(format!("accord-edge-ipf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let deny = dir.join("deny.txt");
        std::fs::write(&deny, "# nothing yet\n").unwrap();
        let config = EdgeIpFilterConfig {
            deny: vec!["198.51.100.0/24".into()],
            deny_files: vec![deny.display().to_string()],
            ..Default::default()
        };
        let filter = IpFilter::from_config(&config).unwrap();
        assert!(filter.permits(ip("192.0.2.1")));
        assert!(!filter.permits(ip("198.51.100.1")));
        assert!(!filter.reload_changed(), "nothing changed");
        std::fs::write(&deny, "192.0.2.0/24\n").unwrap();
        assert!(filter.reload_changed());
        assert!(!filter.permits(ip("192.0.2.1")));
        assert!(
            !filter.permits(ip("198.51.100.1")),
            "configured entries stay"
        );
        // A broken file keeps the previous entries.
        std::fs::write(&deny, "192.0.2.0/24\nnot an address\n").unwrap();
        assert!(!filter.reload_changed());
        assert!(!filter.permits(ip("192.0.2.1")));
        std::fs::remove_file(&deny).unwrap();
        assert!(!filter.reload_changed());
        assert!(!filter.permits(ip("192.0.2.1")));
        std::fs::write(&deny, "").unwrap();
        assert!(filter.reload_changed());
        assert!(filter.permits(ip("192.0.2.1")));
        // A missing file at start is an error naming the key.
        let missing = EdgeIpFilterConfig {
            allow_files: vec![dir.join("absent").display().to_string()],
            ..Default::default()
        };
        let err = IpFilter::from_config(&missing).unwrap_err();
        assert!(err.starts_with("edge.ip_filter.allow_files:"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
