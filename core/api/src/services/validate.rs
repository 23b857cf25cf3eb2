//! Field rules shared by registration, profile edits and the admin command; each adds Discord-
//! style field errors to an [`ErrorTree`] instead of failing on the first problem.

use accord_model::ErrorTree;
use chrono::{Datelike, NaiveDate, Utc};

/// Checks a username for people: length from the config, `a-z 0-9 _ .` (upper case is folded by
/// the caller), no two periods in a row. Returns the normalised (lower-case) name.
pub fn username(tree: &mut ErrorTree, field: &str, raw: &str, min: usize, max: usize) -> String {
    let name = raw.trim().to_lowercase();
    let len = name.chars().count();
    if len < min || len > max {
        tree.add(
            &[field],
            "BASE_TYPE_BAD_LENGTH",
            format!("Must be between {min} and {max} in length."),
        );
    } else if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
        || name.contains("..")
    {
        tree.add(
            &[field],
            "USERNAME_INVALID_CHARACTERS",
            "Username can only contain letters, numbers, underscores _ and periods ., with no two periods in a row.",
        );
    }
    name
}

/// Checks a display name or bot name: length only (any characters but control characters).
pub fn display_name(tree: &mut ErrorTree, field: &str, name: &str, min: usize, max: usize) {
    let len = name.trim().chars().count();
    if len < min || len > max {
        tree.add(
            &[field],
            "BASE_TYPE_BAD_LENGTH",
            format!("Must be between {min} and {max} in length."),
        );
    } else if name.chars().any(char::is_control) {
        tree.add(
            &[field],
            "BASE_TYPE_INVALID",
            "Must not contain control characters.",
        );
    }
}

/// Checks the shape of an e-mail address. Returns it trimmed.
pub fn email(tree: &mut ErrorTree, field: &str, raw: &str) -> String {
    let email = raw.trim().to_owned();
    let ok = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if !ok {
        tree.add(
            &[field],
            "EMAIL_TYPE_INVALID_EMAIL",
            "Not a well formed email address.",
        );
    }
    email
}

/// Checks an ISO date of birth against the minimum age (0 disables the age check).
pub fn date_of_birth(
    tree: &mut ErrorTree,
    field: &str,
    raw: &str,
    min_age: u8,
) -> Option<NaiveDate> {
    let Ok(date) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") else {
        tree.add(
            &[field],
            "DATE_TYPE_PARSE",
            "Could not parse date. Should be YYYY-MM-DD.",
        );
        return None;
    };
    let today = Utc::now().date_naive();
    if date > today || date.year() < 1900 {
        tree.add(
            &[field],
            "DATE_OF_BIRTH_INVALID",
            "You need to enter a valid date of birth.",
        );
        return None;
    }
    let mut age = today.year() - date.year();
    if (today.month(), today.day()) < (date.month(), date.day()) {
        age -= 1;
    }
    if min_age > 0 && age < i32::from(min_age) {
        tree.add(
            &[field],
            "DATE_OF_BIRTH_IS_UNDERAGE",
            format!("You need to be {min_age} or older in order to use this instance."),
        );
        return None;
    }
    Some(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(f: impl FnOnce(&mut ErrorTree)) -> Option<String> {
        let mut tree = ErrorTree::new();
        f(&mut tree);
        tree.children
            .values()
            .next()
            .map(|n| n.errors[0].code.clone())
    }

    #[test]
    fn usernames() {
        assert_eq!(
            code(|t| assert_eq!(username(t, "u", " Alice.B ", 2, 32), "alice.b")),
            None
        );
        assert_eq!(
            code(|t| {
                username(t, "u", "a", 2, 32);
            })
            .as_deref(),
            Some("BASE_TYPE_BAD_LENGTH")
        );
        assert_eq!(
            code(|t| {
                username(t, "u", "a..b", 2, 32);
            })
            .as_deref(),
            Some("USERNAME_INVALID_CHARACTERS")
        );
        assert_eq!(
            code(|t| {
                username(t, "u", "no spaces", 2, 32);
            })
            .as_deref(),
            Some("USERNAME_INVALID_CHARACTERS")
        );
    }

    #[test]
    fn emails() {
        assert_eq!(
            code(|t| {
                email(t, "e", "a@b.io");
            }),
            None
        );
        for bad in ["a", "a@b", "@b.io", "a b@c.io", "a@.io", "a@b.io."] {
            assert_eq!(
                code(|t| {
                    email(t, "e", bad);
                })
                .as_deref(),
                Some("EMAIL_TYPE_INVALID_EMAIL"),
                "{bad}"
            );
        }
    }

    #[test]
    fn dates_of_birth() {
        assert_eq!(
            code(|t| {
                date_of_birth(t, "d", "1990-01-31", 13);
            }),
            None
        );
        assert_eq!(
            code(|t| {
                date_of_birth(t, "d", "1990-02-31", 13);
            })
            .as_deref(),
            Some("DATE_TYPE_PARSE")
        );
        let young = (Utc::now().date_naive() - chrono::Days::new(365 * 5))
            .format("%Y-%m-%d")
            .to_string();
        assert_eq!(
            code(|t| {
                date_of_birth(t, "d", &young, 13);
            })
            .as_deref(),
            Some("DATE_OF_BIRTH_IS_UNDERAGE")
        );
        assert_eq!(
            code(|t| {
                date_of_birth(t, "d", &young, 0);
            }),
            None
        );
        assert_eq!(
            code(|t| {
                date_of_birth(t, "d", "2999-01-01", 0);
            })
            .as_deref(),
            Some("DATE_OF_BIRTH_INVALID")
        );
    }
}
