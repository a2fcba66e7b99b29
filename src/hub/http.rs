//! GET against the hub over `ureq`, redirects followed by hand: at most
//! [`MAX_REDIRECTS`], only to `http:`/`https:`, the token sent to the endpoint's own
//! host only; every failure one line (404, 401, transport, a redirect loop, another
//! scheme). The headers of every answer on the way are kept: the hub puts
//! `X-Repo-Commit`, `X-Linked-Etag` and `X-Linked-Size` on the redirect to its CDN.

use std::time::Duration;

/// Hops followed before a chain of redirects is called a loop.
pub const MAX_REDIRECTS: usize = 5;

pub struct Http {
    agent: ureq::Agent,
    token: Option<String>,
    endpoint: String,
}

/// The last answer of a chain and the headers of all its answers, first answer first.
pub struct Reply {
    pub response: ureq::Response,
    headers: Vec<(String, String)>,
}

impl Reply {
    /// The first answer's value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        (self.headers.iter())
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The last answer's value of header `name`.
    pub fn last(&self, name: &str) -> Option<&str> {
        self.response.header(name)
    }
}

/// The scheme, host and port of `url` (`http://h:1`), lower-case.
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase()
    )
}

/// `location` (a redirect's target) made absolute against `url`; `Err` names a
/// scheme other than http(s).
fn follow(url: &str, location: &str) -> Result<String, String> {
    let scheme_end = location.find(':').filter(|&i| {
        let s = &location[..i];
        !s.is_empty()
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if let Some(i) = scheme_end {
        return match location[..i].to_ascii_lowercase().as_str() {
            "http" | "https" => Ok(location.to_string()),
            _ => Err(location.to_string()),
        };
    }
    if let Some(rest) = location.strip_prefix("//") {
        let scheme = url.split("://").next().unwrap_or("https");
        return Ok(format!("{scheme}://{rest}"));
    }
    if location.starts_with('/') {
        return Ok(format!("{}{location}", origin(url)));
    }
    let base = url.split(['?', '#']).next().unwrap_or(url);
    let dir = &base[..base.rfind('/').map_or(base.len(), |i| i + 1)];
    Ok(format!("{dir}{location}"))
}

impl Http {
    pub fn new(endpoint: &str, token: Option<String>) -> Http {
        let agent = ureq::builder()
            .try_proxy_from_env(true)
            .redirects(0)
            .timeout_connect(Duration::from_secs(30))
            .timeout_read(Duration::from_secs(120))
            .user_agent(&format!("rwkv-lens/{}", env!("CARGO_PKG_VERSION")))
            .build();
        Http {
            agent,
            token,
            endpoint: endpoint.to_string(),
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// GET `url` (with `Range: range`), following redirects; `Err` is one line.
    pub fn get(&self, url: &str, range: Option<&str>) -> Result<Reply, String> {
        let mut url = url.to_string();
        let mut headers = Vec::new();
        for _ in 0..=MAX_REDIRECTS {
            let mut request = self.agent.get(&url);
            if let Some(r) = range {
                request = request.set("Range", r);
            }
            if let Some(t) =
                (self.token.as_ref()).filter(|_| origin(&url) == origin(&self.endpoint))
            {
                request = request.set("Authorization", &format!("Bearer {t}"));
            }
            let response = request.call().map_err(|e| self.failure(e))?;
            for name in response.headers_names() {
                if let Some(v) = response.header(&name) {
                    headers.push((name.to_ascii_lowercase(), v.to_string()));
                }
            }
            if !(300..400).contains(&response.status()) {
                return Ok(Reply { response, headers });
            }
            let Some(location) = response.header("Location") else {
                return Err(format!(
                    "the hub at {} answered HTTP {} without a `Location`",
                    self.endpoint,
                    response.status()
                ));
            };
            url = follow(&url, location).map_err(|to| {
                format!(
                    "the hub at {} redirected to `{}`, which is not http(s): refused",
                    self.endpoint,
                    super::names::shown(&to)
                )
            })?;
        }
        Err(format!(
            "the hub at {} redirected more than {MAX_REDIRECTS} times (a redirect loop?), last to `{}`",
            self.endpoint,
            super::names::shown(&url)
        ))
    }

    fn failure(&self, e: ureq::Error) -> String {
        match e {
            ureq::Error::Status(code, _) => status_message(code, &self.endpoint),
            ureq::Error::Transport(t) => {
                format!("cannot reach the hub at {}: {t}", self.endpoint)
            }
        }
    }
}

pub fn status_message(code: u16, endpoint: &str) -> String {
    match code {
        401 | 403 => format!(
            "the hub refused access ({code}): a gated or private repo needs a token: set HF_TOKEN (and accept the repo's terms on its page)"
        ),
        404 => format!("not found on the hub at {endpoint} (404): check the id, the file name and the revision"),
        _ => format!("the hub at {endpoint} answered HTTP {code}"),
    }
}

#[cfg(test)]
mod tests {
    use super::{follow, origin};

    #[test]
    fn the_token_goes_to_the_endpoint_s_origin_only() {
        let hub = origin("https://HF.co/api/models/a/b");
        assert_eq!(origin("https://hf.co/a/resolve/main/f"), hub);
        for other in [
            "https://cdn.hf.co/x",
            "http://hf.co/x",
            "https://hf.co:8443/x",
            "https://hf.co.evil/x",
        ] {
            assert_ne!(origin(other), hub, "{other}");
        }
    }

    #[test]
    fn redirect_targets() {
        let at = "http://h:1/a/resolve/main/f.bin?x=1";
        assert_eq!(follow(at, "/b/c").unwrap(), "http://h:1/b/c");
        assert_eq!(
            follow(at, "g.bin").unwrap(),
            "http://h:1/a/resolve/main/g.bin"
        );
        assert_eq!(follow(at, "https://cdn/x").unwrap(), "https://cdn/x");
        assert_eq!(follow(at, "//cdn/x").unwrap(), "http://cdn/x");
        for bad in [
            "file:///etc/passwd",
            "ftp://h/x",
            "data:,x",
            "javascript:alert(1)",
        ] {
            assert_eq!(follow(at, bad), Err(bad.to_string()));
        }
    }
}
