//! One readable line from an HTML error page (a CDN's, a proxy's, a relay's): its title, else its
//! first heading, else its first words; Cloudflare's 52x pages named for what they are, with their
//! Ray ID. Never markup.

/// What an HTML page says, in one line.
pub(crate) struct Summary {
    /// The line for the error message.
    pub message: String,
    /// The page's visible text, shortened.
    pub text: String,
}

/// The most a page is read for its summary.
const MAX_PAGE: usize = 256 * 1024;

/// `None` when `body` is not an HTML page.
pub(crate) fn summary(body: &[u8], status: Option<u16>) -> Option<Summary> {
    let body = &body[..body.len().min(MAX_PAGE)];
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    let head = lower.trim_start_matches('\u{feff}').trim_start();
    let is_html = head.starts_with('<')
        && [
            "<html",
            "<!doctype",
            "<head",
            "<body",
            "<title",
            "<h1",
            "<!--",
            "<center",
            "<p",
            "<div",
        ]
        .iter()
        .any(|tag| lower.contains(tag));
    if !is_html {
        return None;
    }
    let cleaned = strip_blocks(&text);
    let cleaned_lower = cleaned.to_ascii_lowercase();
    let element = |name: &str| -> Option<String> {
        let open = format!("<{name}");
        let mut from = 0;
        while let Some(at) = cleaned_lower[from..].find(&open) {
            let start = from + at;
            let after = &cleaned_lower[start + open.len()..];
            // `<title>` or `<title lang="en">`, not `<titles>`.
            if after.starts_with(|c: char| c == '>' || c.is_ascii_whitespace()) {
                let content_start = start + cleaned_lower[start..].find('>')? + 1;
                let close = format!("</{name}");
                let end = content_start + cleaned_lower[content_start..].find(&close)?;
                let line = visible(&cleaned[content_start..end]);
                if !line.is_empty() {
                    return Some(line);
                }
            }
            from = start + open.len();
        }
        None
    };
    let all_text = visible(&cleaned);
    let mut message = element("title")
        .or_else(|| element("h1"))
        .or_else(|| element("h2"))
        .or_else(|| first_words(&all_text, 16))
        .unwrap_or_else(|| "an HTML page with no text".to_owned());
    if let Some(status) = status.filter(|s| (520..=530).contains(s)) {
        if lower.contains("cloudflare") {
            message = cloudflare(status, &all_text);
        }
    }
    Some(Summary {
        message: shorten(&message, 200),
        text: shorten(&all_text, 200),
    })
}

fn cloudflare(status: u16, text: &str) -> String {
    let what = match status {
        520 => "the origin returned an unknown error",
        521 => "the origin web server is down",
        522 => "the connection to the origin timed out",
        523 => "the origin is unreachable",
        524 => "a timeout occurred: the origin did not answer in time (a long generation behind Cloudflare's 100-second limit)",
        525 => "the TLS handshake with the origin failed",
        526 => "the origin's TLS certificate is invalid",
        530 => "the origin could not be resolved",
        _ => "the origin failed",
    };
    let mut line = format!("Cloudflare {status}: {what}");
    if let Some(ray) = ray_id(text) {
        line.push_str(&format!(" (Ray ID {ray})"));
    }
    line
}

/// The hex id after "Ray ID" in a Cloudflare page's text.
fn ray_id(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find("ray id")? + "ray id".len();
    let id: String = text[at..]
        .trim_start_matches(|c: char| c == ':' || c.is_whitespace())
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    (id.len() >= 8).then_some(id)
}

/// The page without comments (conditional ones too), scripts and styles.
fn strip_blocks(text: &str) -> String {
    let mut out = text.to_owned();
    for (open, close) in [
        ("<!--", "-->"),
        ("<script", "</script>"),
        ("<style", "</style>"),
    ] {
        loop {
            let lower = out.to_ascii_lowercase();
            let Some(start) = lower.find(open) else { break };
            let end = match lower[start + open.len()..].find(close) {
                Some(at) => start + open.len() + at + close.len(),
                None => out.len(),
            };
            out.replace_range(start..end, " ");
        }
    }
    out
}

/// Text with tags removed, entities decoded, whitespace folded.
fn visible(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = decode_entities(&text);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        // `;` within the next ten bytes (a byte search: `rest` may hold any UTF-8 there).
        let Some(end) = rest.bytes().take(10).position(|b| b == b';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" | "#39" => Some('\''),
            "nbsp" | "#160" => Some(' '),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    // Entities may have produced markup characters; the line must carry none.
    out.replace(['<', '>'], " ")
}

fn first_words(text: &str, n: usize) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().take(n).collect();
    (!words.is_empty()).then(|| words.join(" "))
}

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(page: &str, status: u16) -> String {
        summary(page.as_bytes(), Some(status)).unwrap().message
    }

    #[test]
    fn every_kind_of_error_page_gives_one_clean_line() {
        let cases = [
            ("<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>", "502 Bad Gateway"),
            ("<!DOCTYPE html>\n<!-- <title>not this</title> -->\n<!--[if lt IE 9]><title>nor this</title><![endif]-->\n<HTML><HEAD><TITLE lang=\"en\">503 Service\n Unavailable</TITLE></HEAD></HTML>", "503 Service Unavailable"),
            ("<html><head><style>h1{color:red}</style><script>var t='<title>x</title>'</script></head><body><h1>Gateway &amp; Proxy Error</h1></body></html>", "Gateway & Proxy Error"),
            ("<html><body><p>The upstream\n  server  is <b>not</b> responding right now, please try again in a few minutes thanks</p></body></html>", "The upstream server is not responding right now, please try again in a few minutes thanks"),
            ("<html><head><title>&lt;script&gt;alert(1)&lt;/script&gt;</title></head></html>", "script alert(1) /script"),
        ];
        for (page, expected) in cases {
            let got = line(page, 502);
            assert_eq!(got, expected);
            assert!(!got.contains('<') && !got.contains('>'), "{got}");
        }
    }

    #[test]
    fn cloudflare_52x_pages_are_named_with_their_ray_id() {
        let page = r#"<!DOCTYPE html>
<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->
<html><head><title>api.example.com | 524: A timeout occurred</title></head>
<body><div id="cf-wrapper"><h1><span>A timeout occurred</span> <span>Error code 524</span></h1>
<p>Visit <a href="https://www.cloudflare.com/">cloudflare.com</a> for more information.</p>
<span>Cloudflare Ray ID: <strong class="font-semibold">8e2f1c3a9b7d4e21</strong></span></div></body></html>"#;
        let got = line(page, 524);
        assert!(
            got.starts_with("Cloudflare 524: a timeout occurred"),
            "{got}"
        );
        assert!(got.ends_with("(Ray ID 8e2f1c3a9b7d4e21)"), "{got}");
        // The same page with another status is read for its title.
        assert_eq!(line(page, 502), "api.example.com | 524: A timeout occurred");
    }

    #[test]
    fn text_and_json_are_not_html() {
        assert!(summary(b"upstream timed out", Some(502)).is_none());
        assert!(summary(b"{\"a\": \"<p>\"}", Some(502)).is_none());
        assert!(summary(b"<html></html>", Some(502)).is_some());
    }
}
