//! Image references in the two forms rules are matched against.

/// The reference as written (with `:latest` implied when it has neither tag
/// nor digest) and its fully qualified form (`nginx` is
/// `docker.io/library/nginx:latest`).
pub fn image_forms(image: &str) -> [String; 2] {
    let written = if has_tag_or_digest(image) { image.to_string() } else { format!("{image}:latest") };
    let (first, rest) = match image.split_once('/') {
        Some((first, rest)) if is_registry(first) => (first, rest.to_string()),
        _ => ("docker.io", image.to_string()),
    };
    let registry = if first == "index.docker.io" { "docker.io" } else { first };
    let repository = if registry == "docker.io" && !rest.contains('/') { format!("library/{rest}") } else { rest };
    let mut qualified = format!("{registry}/{repository}");
    if !has_tag_or_digest(&qualified) {
        qualified.push_str(":latest");
    }
    [written, qualified]
}

/// `:latest`, or no tag and no digest: Kubernetes pulls these `Always` by default.
pub fn is_latest_or_untagged(image: &str) -> bool {
    if image.contains('@') {
        return false;
    }
    match tag_of(image) {
        None => true,
        Some(tag) => tag == "latest",
    }
}

fn has_tag_or_digest(image: &str) -> bool {
    image.contains('@') || tag_of(image).is_some()
}

/// A tag is a `:` after the last `/`.
fn tag_of(image: &str) -> Option<&str> {
    let last_segment = image.rsplit('/').next().unwrap_or(image);
    last_segment.split_once(':').map(|(_, tag)| tag)
}

fn is_registry(component: &str) -> bool {
    component.contains('.')
        || component.contains(':')
        || component == "localhost"
        || component.chars().any(|c| c.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(image_forms("nginx"), ["nginx:latest", "docker.io/library/nginx:latest"]);
        assert_eq!(image_forms("acme/app:1"), ["acme/app:1", "docker.io/acme/app:1"]);
        assert_eq!(image_forms("index.docker.io/nginx:1"), ["index.docker.io/nginx:1", "docker.io/library/nginx:1"]);
        assert_eq!(image_forms("localhost:5000/a"), ["localhost:5000/a:latest", "localhost:5000/a:latest"]);
        assert_eq!(image_forms("ghcr.io/a/b@sha256:00"), ["ghcr.io/a/b@sha256:00", "ghcr.io/a/b@sha256:00"]);
        assert_eq!(
            image_forms("registry.internal:5000/x:2"),
            ["registry.internal:5000/x:2", "registry.internal:5000/x:2"]
        );
    }

    #[test]
    fn latest() {
        assert!(is_latest_or_untagged("nginx"));
        assert!(is_latest_or_untagged("nginx:latest"));
        assert!(is_latest_or_untagged("localhost:5000/nginx"));
        assert!(!is_latest_or_untagged("nginx:1.25"));
        assert!(!is_latest_or_untagged("nginx@sha256:ab"));
    }
}
