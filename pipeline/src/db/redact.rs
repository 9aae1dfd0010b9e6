//! Passwords out of every URL and message sluice prints or stores.

/// `url` with another database: the path of a `postgres://` URL, or a
/// `dbname=` added to a key-value string (the last one wins).
pub(super) fn replace_database(url: &str, database: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return format!("{url} dbname={database}");
    };
    let (head, rest) = url.split_at(scheme_end + 3);
    let query_at = rest.find('?').unwrap_or(rest.len());
    let path_at = rest[..query_at].find('/').unwrap_or(query_at);
    format!("{head}{}/{database}{}", &rest[..path_at], &rest[query_at..])
}

/// Replaces the password of a `postgres://user:password@host/db` URL (or a
/// `password=` key-value) with `***`.
pub fn redact_url(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            if let Some(colon) = rest[..at].find(':') {
                return format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &rest[..colon],
                    &rest[at..]
                );
            }
        }
        if let Some(query) = rest.find('?') {
            let (head, tail) = rest.split_at(query);
            let tail: Vec<String> = tail[1..]
                .split('&')
                .map(|pair| {
                    if pair.starts_with("password=") {
                        "password=***".into()
                    } else {
                        pair.to_string()
                    }
                })
                .collect();
            return format!("{}{head}?{}", &url[..scheme_end + 3], tail.join("&"));
        }
        return url.to_string();
    }
    redact_key_values(url)
}

/// Redacts the `password` of a libpq `key = value` string, whatever its
/// spacing or quoting (`password=x`, `password = x`, `password='a b'`,
/// `'it\'s'`).
pub(super) fn redact_key_values(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while at < bytes.len() {
        // Copy whitespace, then read a key up to `=` or whitespace.
        let key_start = at;
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let name_start = at;
        while at < bytes.len() && bytes[at] != b'=' && !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let key = &text[name_start..at];
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        if at >= bytes.len() || bytes[at] != b'=' {
            out.push_str(&text[key_start..at]);
            continue;
        }
        at += 1;
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        out.push_str(&text[key_start..at]);
        let value_start = at;
        if at < bytes.len() && bytes[at] == b'\'' {
            at += 1;
            while at < bytes.len() && bytes[at] != b'\'' {
                at += if bytes[at] == b'\\' { 2 } else { 1 };
            }
            at = (at + 1).min(bytes.len());
        } else {
            while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
                at += 1;
            }
        }
        if key == "password" {
            out.push_str("***");
        } else {
            out.push_str(&text[value_start..at]);
        }
    }
    out
}

/// Removes any copy of the URL's password from a message.
pub(super) fn redact_in(message: &str, url: &str) -> String {
    match password_of(url) {
        Some(password) if !password.is_empty() => message.replace(password, "***"),
        _ => message.to_string(),
    }
}

pub(super) fn password_of(url: &str) -> Option<&str> {
    let rest = &url[url.find("://")? + 3..];
    let at = rest[..rest.find(['/', '?']).unwrap_or(rest.len())].rfind('@')?;
    rest[..at].split_once(':').map(|(_, password)| password)
}
