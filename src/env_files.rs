//! Settings from files, the container convention for secrets (Docker and Kubernetes secrets
//! are files): `OMS_<NAME>_FILE=/run/secrets/x` sets `OMS_<NAME>` to the file's contents, one
//! trailing newline trimmed, before the command line is parsed. It works for every setting
//! that has an environment variable, so no secret ever needs to be on a command line (where
//! `ps` shows it to every user of the machine) or in an environment listing.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// The largest file a setting is read from: a secret, a URL or a list of networks is a few
/// hundred bytes; a wrong path (`/dev/zero`, a log file) must not be read into memory whole.
pub const MAX_FILE_BYTES: u64 = 64 * 1024;

/// Why the `_FILE` variables could not be applied. Nothing is set when any is refused.
#[derive(Debug, thiserror::Error)]
pub enum EnvFileError {
    /// Both the variable and its `_FILE` are set: which one was meant is unclear.
    #[error(
        "both {name} and {name}_FILE are set: unset one of them ({name}_FILE names a file \
         holding the value)"
    )]
    Both {
        /// The variable (`OMS_JWT_SECRET`).
        name: String,
    },
    /// The file cannot be read.
    #[error("{name}_FILE names {path}, which cannot be read: {reason}")]
    Unreadable {
        /// The variable the file was for.
        name: String,
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        reason: std::io::Error,
    },
    /// The file is larger than any setting.
    #[error(
        "{name}_FILE names {path}, which holds more than {} KiB: no setting is that long \
         (a wrong path?)",
        MAX_FILE_BYTES / 1024
    )]
    TooLarge {
        /// The variable the file was for.
        name: String,
        /// The file.
        path: PathBuf,
    },
    /// The file is not UTF-8 text.
    #[error("{name}_FILE names {path}, which is not UTF-8 text")]
    NotText {
        /// The variable the file was for.
        name: String,
        /// The file.
        path: PathBuf,
    },
    /// `OMS_<NAME>_FILE` for a name that is no setting: a typo would otherwise leave a
    /// secret at its default without a word.
    #[error(
        "{name}_FILE is set, but {name} is not a setting of oms: check the name \
         (`oms serve --help` lists every variable)"
    )]
    Unknown {
        /// The variable the file was meant for.
        name: String,
    },
}

/// A variable set from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The variable (`OMS_JWT_SECRET`).
    pub name: String,
    /// The file it was read from.
    pub path: PathBuf,
    /// The value, for [`apply`] to set.
    value: String,
}

/// The variables the `_FILE` variables among `vars` set: for each `OMS_<NAME>_FILE` whose
/// `OMS_<NAME>` is one of `known`, the file read by `read` with one trailing newline (`\n` or
/// `\r\n`) trimmed. A `_FILE` variable that is itself a setting (`OMS_TLS_CA_FILE`, a path) is
/// left alone. Refuses the whole set on the first problem, in the variables' order.
pub fn resolve<R>(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
    known: &[&str],
    read: R,
) -> Result<Vec<Loaded>, EnvFileError>
where
    R: Fn(&Path) -> std::io::Result<Vec<u8>>,
{
    // Names that are not UTF-8 are no variable of ours.
    let vars: BTreeMap<String, OsString> = vars
        .into_iter()
        .filter_map(|(k, v)| k.into_string().ok().map(|k| (k, v)))
        .collect();
    let mut loaded = Vec::new();
    for (var, path) in &vars {
        let Some(name) = var
            .strip_suffix("_FILE")
            .filter(|n| n.len() > "OMS_".len() && n.starts_with("OMS_"))
        else {
            continue;
        };
        if known.contains(&var.as_str()) {
            continue;
        }
        if !known.contains(&name) {
            return Err(EnvFileError::Unknown {
                name: name.to_owned(),
            });
        }
        if vars.contains_key(name) {
            return Err(EnvFileError::Both {
                name: name.to_owned(),
            });
        }
        let path = PathBuf::from(path);
        let bytes = read(&path).map_err(|reason| EnvFileError::Unreadable {
            name: name.to_owned(),
            path: path.clone(),
            reason,
        })?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(EnvFileError::TooLarge {
                name: name.to_owned(),
                path,
            });
        }
        let mut value = String::from_utf8(bytes).map_err(|_| EnvFileError::NotText {
            name: name.to_owned(),
            path: path.clone(),
        })?;
        if value.ends_with('\n') {
            value.pop();
            if value.ends_with('\r') {
                value.pop();
            }
        }
        loaded.push(Loaded {
            name: name.to_owned(),
            path,
            value,
        });
    }
    Ok(loaded)
}

/// Applies the process's `_FILE` variables for the settings in `known`: sets each
/// `OMS_<NAME>` and removes its `OMS_<NAME>_FILE`, so that the programs this one starts (the
/// plugin compile worker) do not see both. Call it first in `main`, before any thread starts:
/// changing the environment while another thread reads it is undefined behaviour in C.
pub fn apply(known: &[&str]) -> Result<Vec<Loaded>, EnvFileError> {
    let loaded = resolve(std::env::vars_os(), known, read_bounded)?;
    for l in &loaded {
        std::env::set_var(&l.name, &l.value);
        std::env::remove_var(format!("{}_FILE", l.name));
    }
    Ok(loaded)
}

/// Reads at most one byte more than [`MAX_FILE_BYTES`] (enough to tell a file too large).
fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// `message` with every value read from a file replaced by `<contents of OMS_X_FILE>`: an
/// error about a setting must not print a secret that a wrong `_FILE` put there.
pub fn hide_values(message: &str, loaded: &[Loaded]) -> String {
    let mut hidden = message.to_owned();
    for l in loaded {
        if !l.value.is_empty() {
            hidden = hidden.replace(&l.value, &format!("<contents of {}_FILE>", l.name));
        }
    }
    hidden
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::io::{Error, ErrorKind};

    use super::*;

    const KNOWN: &[&str] = &["OMS_JWT_SECRET", "OMS_DATABASE_URL", "OMS_TLS_CA_FILE"];

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    /// Files by path; any other path is missing.
    fn files(
        contents: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&Path) -> std::io::Result<Vec<u8>> {
        move |p: &Path| {
            contents
                .iter()
                .find(|(path, _)| Path::new(path) == p)
                .map(|(_, c)| c.as_bytes().to_vec())
                .ok_or_else(|| Error::new(ErrorKind::NotFound, "No such file or directory"))
        }
    }

    fn values(loaded: &[Loaded]) -> Vec<(&str, &str)> {
        loaded
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect()
    }

    #[test]
    fn a_file_sets_its_variable_with_one_trailing_newline_trimmed() {
        let read = files(&[("/s/jwt", "s3cret\n"), ("/s/db", "postgres://a@b/c\r\n")]);
        let loaded = resolve(
            vars(&[
                ("OMS_JWT_SECRET_FILE", "/s/jwt"),
                ("OMS_DATABASE_URL_FILE", "/s/db"),
                ("PATH", "/bin"),
            ]),
            KNOWN,
            read,
        )
        .unwrap();
        assert_eq!(
            values(&loaded),
            [
                ("OMS_DATABASE_URL", "postgres://a@b/c"),
                ("OMS_JWT_SECRET", "s3cret")
            ]
        );
        assert_eq!(loaded[1].path, PathBuf::from("/s/jwt"));
    }

    #[test]
    fn only_one_newline_is_trimmed_and_nothing_else() {
        let read = files(&[
            ("/two", "x\n\n"),
            ("/none", " x "),
            ("/empty", ""),
            ("/nl", "\n"),
        ]);
        for (file, want) in [
            ("/two", "x\n"),
            ("/none", " x "),
            ("/empty", ""),
            ("/nl", ""),
        ] {
            let loaded = resolve(vars(&[("OMS_JWT_SECRET_FILE", file)]), KNOWN, &read).unwrap();
            assert_eq!(values(&loaded), [("OMS_JWT_SECRET", want)], "{file}");
        }
    }

    #[test]
    fn files_past_the_size_of_any_setting_are_refused() {
        let limit = MAX_FILE_BYTES as usize;
        let sized = |n: usize| move |_: &Path| -> std::io::Result<Vec<u8>> { Ok(vec![b'a'; n]) };
        let at = resolve(vars(&[("OMS_JWT_SECRET_FILE", "/s")]), KNOWN, sized(limit)).unwrap();
        assert_eq!(at[0].value.len(), limit);
        let past = resolve(
            vars(&[("OMS_JWT_SECRET_FILE", "/s")]),
            KNOWN,
            sized(limit + 1),
        )
        .unwrap_err()
        .to_string();
        assert!(past.contains("more than 64 KiB"), "{past}");
        // The real reader stops one byte past the limit, whatever the file's size.
        let endless = read_bounded(Path::new("/dev/zero")).unwrap();
        assert_eq!(endless.len(), limit + 1);
    }

    #[test]
    fn values_from_files_are_hidden_in_messages() {
        let loaded = resolve(
            vars(&[("OMS_LISTEN_FILE", "/s")]),
            &["OMS_LISTEN"],
            files(&[("/s", "mqnT2u5Kl-secret")]),
        )
        .unwrap();
        assert_eq!(
            hide_values("invalid value 'mqnT2u5Kl-secret' for '--listen'", &loaded),
            "invalid value '<contents of OMS_LISTEN_FILE>' for '--listen'"
        );
    }

    #[test]
    fn both_set_is_refused_naming_both() {
        let err = resolve(
            vars(&[("OMS_JWT_SECRET", "a"), ("OMS_JWT_SECRET_FILE", "/s/jwt")]),
            KNOWN,
            files(&[("/s/jwt", "b")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("both OMS_JWT_SECRET and OMS_JWT_SECRET_FILE are set"),
            "{err}"
        );
    }

    #[test]
    fn an_unreadable_file_is_refused_naming_the_path() {
        let err = resolve(
            vars(&[("OMS_JWT_SECRET_FILE", "/run/secrets/missing")]),
            KNOWN,
            files(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("/run/secrets/missing"), "{err}");
        assert!(err.contains("OMS_JWT_SECRET_FILE"), "{err}");
        let err = resolve(
            vars(&[("OMS_JWT_SECRET_FILE", "/bin")]),
            KNOWN,
            |_: &Path| Err(Error::other("binary")),
        )
        .map(|_| ());
        assert!(err.is_err());
        let not_text = resolve(vars(&[("OMS_JWT_SECRET_FILE", "/x")]), KNOWN, |_: &Path| {
            Ok(vec![0xff, 0xfe])
        })
        .unwrap_err()
        .to_string();
        assert!(not_text.contains("not UTF-8"), "{not_text}");
    }

    #[test]
    fn unknown_names_are_refused_and_file_settings_left_alone() {
        let err = resolve(
            vars(&[("OMS_JWT_SECRT_FILE", "/s/jwt")]),
            KNOWN,
            files(&[("/s/jwt", "x")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("OMS_JWT_SECRT is not a setting"), "{err}");
        // A setting whose own name ends in _FILE is a path, not a redirection.
        let loaded = resolve(
            vars(&[("OMS_TLS_CA_FILE", "/etc/ca.pem")]),
            KNOWN,
            files(&[]),
        )
        .unwrap();
        assert!(loaded.is_empty());
        // Variables of other programs are not ours.
        let loaded = resolve(
            vars(&[("DOCKER_CERT_FILE", "/x"), ("OMS_FILE", "/y")]),
            KNOWN,
            files(&[]),
        );
        assert!(matches!(loaded.as_deref(), Ok([])), "{loaded:?}");
    }
}
