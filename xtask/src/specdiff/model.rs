//! What spec-diff finds: each [`Change`] with where it shows ([`Level`])
//! and what it does to clients ([`Impact`]), the [`Report`], and the
//! release a change set needs ([`SdkSemver`]).

/// Where a change shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// On the wire: HTTP paths, parameters, JSON fields.
    Wire,
    /// In the generated Rust API.
    Sdk,
}

impl Level {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Wire => "wire",
            Self::Sdk => "sdk",
        }
    }
}

/// What a change does to existing clients. The JSON report's `impact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Impact {
    /// Code or clients that worked before break: on the wire, a request
    /// PandaPon now refuses or an answer a client cannot read; in Rust, code
    /// that no longer compiles.
    Breaking,
    /// Rust code still compiles, but its calls fail until it sets a value
    /// that is now required (builders check required values at run time).
    FailsAtRunTime,
    /// Nothing that worked before stops working.
    Compatible,
}

impl Impact {
    /// `breaking`, `fails-at-run-time` or `compatible`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Breaking => "breaking",
            Self::FailsAtRunTime => "fails-at-run-time",
            Self::Compatible => "compatible",
        }
    }

    pub(super) fn breaking_if(breaking: bool) -> Self {
        if breaking {
            Self::Breaking
        } else {
            Self::Compatible
        }
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// Wire or SDK.
    pub level: Level,
    /// What it does to existing clients.
    pub impact: Impact,
    /// What sort of change it is, in kebab case (`request-input-removed`,
    /// `field-type-changed`, …): what scripts match on, never the message.
    pub kind: &'static str,
    /// The operationId it belongs to, if any.
    pub operation: Option<String>,
    /// What changed.
    pub message: String,
}

impl Change {
    /// Whether it breaks existing clients or code.
    pub fn breaking(&self) -> bool {
        self.impact == Impact::Breaking
    }
}

/// A spec codegen refuses: the SDK level of the report is partial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `base` or `head`.
    pub spec: &'static str,
    /// Codegen's error, with its causes.
    pub reason: String,
}

/// What spec-diff found: the changes it could see, and the specs codegen
/// refuses (then the SDK level holds only what could be compared without
/// generating).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Every change, wire level first.
    pub changes: Vec<Change>,
    /// The specs codegen refuses, base first.
    pub refused: Vec<Refusal>,
}

/// The release of the generated SDK a change set needs, by Rust's semver
/// rules (the verdict cargo-semver-checks gives, where it can see the change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdkSemver {
    /// Some SDK-level change is breaking.
    Major,
    /// The Rust API changed, compatibly.
    Minor,
    /// The Rust API did not change.
    None,
    /// Codegen refuses one of the specs: the SDK cannot be compared whole.
    Unknown,
}

impl SdkSemver {
    /// `major`, `minor` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Major => "major",
            Self::Minor => "minor",
            Self::None => "none",
            Self::Unknown => "unknown",
        }
    }
}

/// The SDK-level verdict of `changes`.
pub fn sdk_semver(changes: &[Change]) -> SdkSemver {
    let sdk = || changes.iter().filter(|c| c.level == Level::Sdk);
    if sdk().any(Change::breaking) {
        SdkSemver::Major
    } else if sdk().next().is_some() {
        SdkSemver::Minor
    } else {
        SdkSemver::None
    }
}

/// The SDK verdict of a report: [`SdkSemver::Unknown`] when codegen
/// refuses a spec.
pub(super) fn semver_of(report: &Report) -> SdkSemver {
    if report.refused.is_empty() {
        sdk_semver(&report.changes)
    } else {
        SdkSemver::Unknown
    }
}
