//! Asking for what the flags did not give — only on a terminal. Without one (or with
//! `--no-input`, `ROLO_NO_INPUT`, `CI`), a missing value is a usage error naming the flag.

use std::io::{BufRead, IsTerminal};

use dialoguer::{Confirm, Editor, Input, Password, Select};

use crate::secrets::Secret;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy)]
pub struct Prompter {
    pub interactive: bool,
}

fn prompt_error(e: dialoguer::Error) -> Error {
    match e {
        dialoguer::Error::IO(io) if io.kind() == std::io::ErrorKind::Interrupted => Error::usage("cancelled"),
        dialoguer::Error::IO(io) => Error::usage(format!("cannot prompt: {io}")),
    }
}

impl Prompter {
    /// Interactive only when stdin and stderr are terminals and nothing forbids prompting.
    pub fn detect(no_input: bool, env_no_input: bool, ci: bool) -> Self {
        let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        Prompter { interactive: terminal && !no_input && !env_no_input && !ci }
    }

    /// The flag's value, or a prompt, or a usage error naming `flag`.
    pub fn text(&self, given: Option<String>, label: &str, flag: &str) -> Result<String> {
        if let Some(v) = given {
            return Ok(v);
        }
        if !self.interactive {
            return Err(Error::usage(format!("missing {flag} (no terminal to ask on)")));
        }
        Input::<String>::new().with_prompt(label).interact_text().map_err(prompt_error)
    }

    /// Like [`Prompter::text`], checking each answer with `check` as it is typed.
    pub fn text_checked(
        &self,
        given: Option<String>,
        label: &str,
        flag: &str,
        check: fn(&str) -> Result<()>,
    ) -> Result<String> {
        if given.is_some() || !self.interactive {
            return self.text(given, label, flag);
        }
        Input::<String>::new()
            .with_prompt(label)
            .validate_with(|v: &String| check(v).map_err(|e| e.message().to_string()))
            .interact_text()
            .map_err(prompt_error)
    }

    /// An optional value: the flag's, or on a terminal a prompt that may be left empty.
    pub fn optional(&self, given: Option<String>, label: &str) -> Result<Option<String>> {
        if given.is_some() || !self.interactive {
            return Ok(given);
        }
        let v = Input::<String>::new().with_prompt(label).allow_empty(true).interact_text().map_err(prompt_error)?;
        Ok(Some(v).filter(|v| !v.trim().is_empty()))
    }

    /// One of `choices`: the flag's value, a select list on a terminal, or a usage error.
    pub fn select(&self, given: Option<String>, label: &str, choices: &[&str], flag: &str) -> Result<String> {
        if let Some(v) = given {
            return Ok(v);
        }
        if !self.interactive {
            return Err(Error::usage(format!("missing {flag} (one of: {})", choices.join(", "))));
        }
        let i = Select::new().with_prompt(label).items(choices).default(0).interact().map_err(prompt_error)?;
        Ok(choices[i].to_string())
    }

    /// Opens `text` in `$EDITOR` (TOML); `None` when the user saved nothing new.
    pub fn edit_toml(&self, text: &str, flags_hint: &str) -> Result<Option<String>> {
        self.edit_text(text, ".toml", flags_hint)
    }

    /// Opens `text` in `$EDITOR` as a file with this extension; `None` when nothing changed.
    pub fn edit_text(&self, text: &str, extension: &str, flags_hint: &str) -> Result<Option<String>> {
        if !self.interactive {
            return Err(Error::usage(format!(
                "nothing to change: pass {flags_hint} (or run on a terminal to edit in $EDITOR)"
            )));
        }
        let edited = Editor::new().extension(extension).edit(text).map_err(prompt_error)?;
        Ok(edited.filter(|e| e.trim() != text.trim()))
    }

    /// A new password, typed twice on a terminal.
    pub fn new_password(&self, label: &str, hint: &str) -> Result<Secret<String>> {
        if !self.interactive {
            return Err(Error::usage(format!("missing password: {hint}")));
        }
        Password::new()
            .with_prompt(label)
            .with_confirmation("Repeat it", "The two entries differ")
            .interact()
            .map(Secret::new)
            .map_err(prompt_error)
    }

    /// An existing password, typed once.
    pub fn password(&self, label: &str, hint: &str) -> Result<Secret<String>> {
        if !self.interactive {
            return Err(Error::usage(format!("missing password: {hint}")));
        }
        Password::new().with_prompt(label).interact().map(Secret::new).map_err(prompt_error)
    }

    /// Asks to confirm a destructive action; without a terminal, `yes` must have been given.
    pub fn confirm(&self, question: &str, yes: bool) -> Result<bool> {
        if yes {
            return Ok(true);
        }
        if !self.interactive {
            return Err(Error::usage("this cannot be undone; pass --yes to confirm without a terminal"));
        }
        Confirm::new().with_prompt(question).default(false).interact().map_err(prompt_error)
    }
}

/// Reads one line from stdin (for `--password-stdin`), without its line ending.
pub fn read_stdin_line(what: &str) -> Result<Secret<String>> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let value = line.trim_end_matches(['\n', '\r']).to_string();
    if value.is_empty() {
        return Err(Error::usage(format!("expected the {what} on standard input")));
    }
    Ok(Secret::new(value))
}
