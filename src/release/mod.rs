//! Helm releases: the values that reach a chart, and the edits of them that
//! give every container of the rendered release its environment's pull
//! policy and every pod its pull secrets.
//!
//! A release is found in a file that carries its values (`find`): a Flux
//! `HelmRelease` (`spec.values`), an Argo CD `Application` or
//! `ApplicationSet` template of a Helm source (`valueFiles`, the `values`
//! string, `valuesObject`), a kustomize `helmCharts` entry (`valuesFile`,
//! `additionalValuesFiles`, `valuesInline`), or a values file of a chart in
//! the repository that an environment's path glob matches. Its *layers* are
//! the values documents Helm merges over the chart's defaults, lowest
//! first, each at a file, a document and a key path.
//!
//! Which keys (`keys`): for a chart in the repository, the `.Values` paths
//! its templates really read for `imagePullPolicy` and `imagePullSecrets`
//! (`crate::helm::analyse`); else the rules' `helm.charts` entry; else the
//! conventions of `helm create` and the large chart collections.
//!
//! What to write (`decide`): each key's effective value is read through the
//! layers, the highest first, then the chart's defaults. A key already
//! right is left alone. Otherwise it is written where it is set, when that
//! layer belongs to the release's environment alone; else into the
//! highest layer above it that does (an existing one first; a HelmRelease's
//! `spec.values` or an Application's `helm.valuesObject` is created when
//! none exists). A secrets list is written whole, the entries it had
//! first, as Helm replaces lists instead of merging them.
//!
//! How (`apply`): with `crate::edit::values`, one key at a time, reparsing
//! between, composed into splices of the original text, and checked by
//! `crate::verify::only_paths_changed` (and, for a `values` string, its
//! inner document too).
//!
//! Nothing here does IO: the run reads the files and charts a release
//! names (`Release::files`, `Release::chart_dir`) and hands them in.

mod apply;
mod decide;
mod find;
mod keys;

#[cfg(test)]
mod tests;

pub use apply::{apply_edits, Leaf, ValuesEdit};
pub use decide::{plan_releases, ChartFacts, Planned, ReleaseReport, SourceFile, Sources, ValuesKeyReport};
pub use find::{
    find, find_in_kustomization, join as join_path, values_file_release, ChartSource, Layer, LayerForm, Release,
    NOT_IN_REPOSITORY,
};
pub use keys::Why;
