//! "Start seeding at login" on Linux: an XDG autostart entry,
//! `$XDG_CONFIG_HOME/autostart/zks-entropy-grid.desktop` (by default
//! `~/.config/autostart/`), which desktop sessions following the XDG
//! Autostart spec (GNOME, KDE, XFCE, …) run at login. It starts this very
//! executable, with `--home DIR` when the app runs on a home other than the
//! default one, and `--background` so that the window stays hidden in the
//! tray. The seeding switch itself is a setting; turning the entry on also
//! turns seeding on (see `commands::settings`).
//!
//! Everything here takes its paths as arguments, so tests run it against a
//! temporary folder; [`Launcher::for_this_app`] reads them from the
//! process's environment.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::dto::Autostart;
use crate::error::IpcError;

/// The entry's file name.
pub const FILE_NAME: &str = "zks-entropy-grid.desktop";

/// The command-line flag that starts the app with its window hidden.
pub const BACKGROUND_FLAG: &str = "--background";

/// Where the entry goes: `$XDG_CONFIG_HOME/autostart/` when that is set to
/// an absolute path (the XDG Base Directory spec ignores anything else),
/// otherwise `$HOME/.config/autostart/`. `None` when neither is known.
pub fn entry_path(xdg_config_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let config = xdg_config_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            home.map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|h| h.join(".config"))
        })?;
    Some(config.join("autostart").join(FILE_NAME))
}

/// Characters that make an argument need quotes in an `Exec` line (Desktop
/// Entry spec, "The Exec key").
const RESERVED: &[char] = &[
    ' ', '\t', '"', '\'', '\\', '>', '<', '~', '|', '&', ';', '$', '*', '?', '#', '(', ')', '`',
];

/// One argument as the `Exec` key wants it: quoted when it holds reserved
/// characters (with `"`, `` ` ``, `$` and `\` escaped inside the quotes),
/// `%` doubled (it starts field codes), and then every backslash doubled
/// again, because the key's value is itself an escaped string.
fn exec_arg(arg: &str) -> String {
    let arg = arg.replace('%', "%%");
    let quoted = if arg.is_empty() || arg.contains(RESERVED) {
        let mut q = String::with_capacity(arg.len() + 2);
        q.push('"');
        for c in arg.chars() {
            if matches!(c, '"' | '`' | '$' | '\\') {
                q.push('\\');
            }
            q.push(c);
        }
        q.push('"');
        q
    } else {
        arg
    };
    quoted.replace('\\', "\\\\")
}

/// The `Exec` value that starts `exe` in the background, on `home` when
/// given. Paths that are not UTF-8 or hold control characters (a newline
/// would end the line) cannot be written into a desktop entry.
pub fn exec_line(exe: &Path, home: Option<&Path>) -> Result<String, IpcError> {
    let text = |p: &Path| -> Result<String, IpcError> {
        let s = p.to_str().ok_or_else(|| {
            IpcError::new(
                "unsupported",
                format!(
                    "{} is not valid UTF-8, so it cannot go into a login entry",
                    p.display()
                ),
            )
        })?;
        if s.chars().any(char::is_control) {
            return Err(IpcError::new(
                "unsupported",
                format!("{s:?} holds control characters, so it cannot go into a login entry"),
            ));
        }
        Ok(s.to_owned())
    };
    let mut args = vec![text(exe)?];
    if let Some(home) = home {
        args.push("--home".into());
        args.push(text(home)?);
    }
    args.push(BACKGROUND_FLAG.into());
    Ok(args
        .iter()
        .map(|a| exec_arg(a))
        .collect::<Vec<_>>()
        .join(" "))
}

/// The whole entry for an `Exec` value.
pub fn entry_text(exec: &str) -> String {
    format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=ZKS Entropy Grid\n\
         Comment=Keeps this device online in the Entropy Grid and seeding beacon history\n\
         Exec={exec}\n\
         Terminal=false\n\
         X-GNOME-Autostart-enabled=true\n"
    )
}

/// The `Exec` value of an entry's text (its `[Desktop Entry]` group).
fn exec_of(text: &str) -> Option<&str> {
    let mut in_main = false;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with('[') {
            in_main = line == "[Desktop Entry]";
        } else if in_main && let Some(value) = line.strip_prefix("Exec=") {
            return Some(value);
        }
    }
    None
}

/// The login entry of this app on one home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launcher {
    /// The entry's file.
    pub entry: PathBuf,
    /// The `Exec` value this app writes.
    pub exec: String,
}

impl Launcher {
    /// The entry for starting `exe` on `home` (`None`: the default home),
    /// under the config folder found from the two variables.
    pub fn new(
        xdg_config_home: Option<OsString>,
        user_home: Option<OsString>,
        exe: &Path,
        home: Option<&Path>,
    ) -> Result<Launcher, IpcError> {
        let entry = entry_path(xdg_config_home, user_home).ok_or_else(|| {
            IpcError::new(
                "unsupported",
                "no config folder is known (neither XDG_CONFIG_HOME nor HOME is set)",
            )
        })?;
        Ok(Launcher {
            entry,
            exec: exec_line(exe, home)?,
        })
    }

    /// The entry of the running app on its home: this executable, with
    /// `--home` when the home is not the default one.
    pub fn for_this_app(node: &zks_node::Node) -> Result<Launcher, IpcError> {
        let exe = std::env::current_exe().map_err(|e| {
            IpcError::new("io", format!("cannot find this program's own path: {e}"))
        })?;
        let dir = node.data_dir();
        let home = dir.is_overridden().then(|| dir.path());
        Launcher::new(
            std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()),
            std::env::var_os("HOME").filter(|v| !v.is_empty()),
            &exe,
            home,
        )
    }

    /// Whether the entry is there, and whether it is ours.
    pub fn status(&self) -> Autostart {
        let found = std::fs::read_to_string(&self.entry).ok();
        let exec = found.as_deref().map(|t| exec_of(t).unwrap_or_default());
        Autostart {
            enabled: exec == Some(self.exec.as_str()),
            path: self.entry.display().to_string(),
            other: exec
                .filter(|e| *e != self.exec)
                .map(|e| if e.is_empty() { "(no command)" } else { e }.to_owned()),
        }
    }

    /// Writes the entry (replacing whatever entry of that name was there),
    /// through a temporary file and a rename so the session never reads half
    /// of it.
    pub fn enable(&self) -> Result<Autostart, IpcError> {
        let fail = |e: std::io::Error| {
            IpcError::new(
                "io",
                format!("cannot write the login entry {}: {e}", self.entry.display()),
            )
        };
        if let Some(dir) = self.entry.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let tmp = self.entry.with_extension("desktop.tmp");
        std::fs::write(&tmp, entry_text(&self.exec))
            .and_then(|()| std::fs::rename(&tmp, &self.entry))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                fail(e)
            })?;
        Ok(self.status())
    }

    /// Removes the entry if it is ours; an entry that starts something else
    /// is left alone.
    pub fn disable(&self) -> Result<Autostart, IpcError> {
        if self.status().enabled {
            std::fs::remove_file(&self.entry).map_err(|e| {
                IpcError::new(
                    "io",
                    format!(
                        "cannot remove the login entry {}: {e}",
                        self.entry.display()
                    ),
                )
            })?;
        }
        Ok(self.status())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<OsString> {
        Some(OsString::from(s))
    }

    #[test]
    fn the_entry_goes_under_xdg_config_home_or_home_dot_config() {
        assert_eq!(
            entry_path(os("/cfg"), os("/home/u")),
            Some(PathBuf::from("/cfg/autostart/zks-entropy-grid.desktop"))
        );
        assert_eq!(
            entry_path(None, os("/home/u")),
            Some(PathBuf::from(
                "/home/u/.config/autostart/zks-entropy-grid.desktop"
            ))
        );
        // A relative XDG_CONFIG_HOME is invalid and ignored (XDG spec).
        assert_eq!(
            entry_path(os("relative"), os("/home/u")),
            Some(PathBuf::from(
                "/home/u/.config/autostart/zks-entropy-grid.desktop"
            ))
        );
        assert_eq!(entry_path(None, None), None);
        assert_eq!(entry_path(None, os("nope")), None);
    }

    #[test]
    fn exec_lines_quote_and_escape_as_the_desktop_entry_spec_says() {
        assert_eq!(
            exec_line(Path::new("/usr/bin/zks-desktop"), None).unwrap(),
            "/usr/bin/zks-desktop --background"
        );
        assert_eq!(
            exec_line(
                Path::new("/opt/ZKS Grid/zks-desktop"),
                Some(Path::new("/home/u/my homes/work"))
            )
            .unwrap(),
            r#""/opt/ZKS Grid/zks-desktop" --home "/home/u/my homes/work" --background"#
        );
        // `%` starts field codes; `$` and `"` are escaped inside quotes, and
        // a backslash is escaped twice (quoting, then the string value).
        assert_eq!(
            exec_line(Path::new("/a/100%/b$\"c\\d"), None).unwrap(),
            r#""/a/100%%/b\\$\\"c\\\\d" --background"#
        );
        let newline = exec_line(Path::new("/a\nb"), None).unwrap_err();
        assert_eq!(newline.code, "unsupported");
    }

    #[test]
    fn the_entry_text_names_the_command() {
        let text = entry_text("/usr/bin/zks-desktop --background");
        assert!(text.starts_with("[Desktop Entry]\nType=Application\n"));
        assert!(text.contains("\nExec=/usr/bin/zks-desktop --background\n"));
        assert_eq!(exec_of(&text), Some("/usr/bin/zks-desktop --background"));
        assert_eq!(exec_of("[Other]\nExec=x\n[Desktop Entry]\nName=y\n"), None);
    }

    #[test]
    fn enable_writes_the_entry_disable_removes_only_ours() {
        let tmp =
            std::env::temp_dir().join(format!("zks-desktop-autostart-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let config = tmp.join("config");
        let user_home = tmp.join("home");
        let exe = Path::new("/opt/zks/zks-desktop");
        let home = tmp.join("a home");

        // XDG_CONFIG_HOME set: the entry goes there.
        let ours = Launcher::new(
            Some(config.clone().into()),
            Some(user_home.clone().into()),
            exe,
            Some(&home),
        )
        .unwrap();
        assert_eq!(
            ours.entry,
            config.join("autostart").join("zks-entropy-grid.desktop")
        );
        let off = ours.status();
        assert!(!off.enabled);
        assert_eq!(off.other, None);

        let on = ours.enable().unwrap();
        assert!(on.enabled, "{on:?}");
        assert_eq!(on.other, None);
        let text = std::fs::read_to_string(&ours.entry).unwrap();
        assert!(text.contains(&format!(
            "\nExec=/opt/zks/zks-desktop --home \"{}\" --background\n",
            home.display()
        )));
        // Writing again is harmless.
        assert!(ours.enable().unwrap().enabled);

        // The app on another home sees someone else's entry and leaves it.
        let other_home = Launcher::new(
            Some(config.clone().into()),
            None,
            exe,
            Some(Path::new("/elsewhere")),
        )
        .unwrap();
        let seen = other_home.status();
        assert!(!seen.enabled);
        assert_eq!(seen.other.as_deref(), Some(ours.exec.as_str()));
        assert!(!other_home.disable().unwrap().enabled);
        assert!(ours.entry.exists(), "not ours to remove");

        let off = ours.disable().unwrap();
        assert!(!off.enabled);
        assert!(!ours.entry.exists());
        // Removing what is not there is fine.
        assert!(!ours.disable().unwrap().enabled);

        // No XDG_CONFIG_HOME: under $HOME/.config; the default home adds
        // no --home.
        let default = Launcher::new(None, Some(user_home.clone().into()), exe, None).unwrap();
        assert_eq!(default.exec, "/opt/zks/zks-desktop --background");
        assert!(default.enable().unwrap().enabled);
        assert!(
            user_home
                .join(".config/autostart/zks-entropy-grid.desktop")
                .is_file()
        );
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
