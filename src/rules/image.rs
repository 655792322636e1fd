//! Image references: the two forms rules are matched against, and how a
//! kustomize `images:` entry renames or retags one (what every planner must
//! apply before it asks the rules about an image).

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

/// An `images:` entry: `name` becomes `newName`, its tag `newTag`, or its digest `digest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageOverride {
    pub name: String,
    pub new_name: Option<String>,
    pub new_tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageOverride {
    /// The image after this override, if it applies to `image`.
    pub fn apply(&self, image: &str) -> Option<String> {
        let (repository, tag, digest) = split_image(image);
        if repository != self.name {
            return None;
        }
        let name = self.new_name.as_deref().unwrap_or(repository);
        let mut out = name.to_string();
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(digest);
        } else if let Some(tag) = &self.new_tag {
            out.push(':');
            out.push_str(tag);
        } else {
            if let Some(tag) = tag {
                out.push(':');
                out.push_str(tag);
            }
            if let Some(digest) = digest {
                out.push('@');
                out.push_str(digest);
            }
        }
        Some(out)
    }
}

/// `repo[:tag][@digest]`, with a registry port kept in the repository.
fn split_image(image: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match image.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (image, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[last_slash..].find(':') {
        Some(colon) => (&rest[..last_slash + colon], Some(&rest[last_slash + colon + 1..]), digest),
        None => (rest, None, digest),
    }
}

/// The image after every override in `images` (the nearest kustomization's first).
pub fn transform_image(image: &str, images: &[ImageOverride]) -> String {
    let mut current = image.to_string();
    for override_ in images {
        if let Some(next) = override_.apply(&current) {
            current = next;
        }
    }
    current
}
