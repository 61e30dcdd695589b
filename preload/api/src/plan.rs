//! Fault plans as the preload reads them from its environment: the same vocabulary as
//! `loadguard::testing::FaultPlan` (the n-th or every call of an op gets an errno, a short read
//! or `EINTR`), spelled as text so a parent process can hand it to any child.
//!
//! The text form is `RULE[;RULE…]`, each rule `OP@N=FAULT` or `OP@*=FAULT` (every call), with
//! FAULT one of `errno:NAME|NUMBER`, `short` (half the bytes asked for, at least one),
//! `short:N` (at most N bytes) or `eintr`:
//!
//! ```
//! use loadguard_preload_api::{Fault, Op, Plan, When};
//!
//! let plan = Plan::parse("mmap@2=errno:ENOMEM;pread@*=short:7")?;
//! assert_eq!(plan.rules()[0].op, Op::Mmap);
//! assert_eq!(plan.rules()[0].when, When::Nth(2));
//! assert_eq!(plan.rules()[0].fault, Fault::Errno(12));
//! assert_eq!(plan.rules()[1].fault, Fault::ShortRead(Some(7)));
//! assert_eq!(plan.to_string(), "mmap@2=errno:12;pread@*=short:7");
//! # Ok::<(), loadguard_preload_api::PlanError>(())
//! ```
//!
//! Parsing never allocates: the preload parses its plan inside an interposed call, possibly
//! before the C library has finished starting.

use core::fmt;

use crate::errno::errno_from_name;
use crate::op::Op;

/// What an injected fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// The call fails with this errno.
    Errno(i32),
    /// The call fails with `EINTR`.
    Interrupted,
    /// A read returns fewer bytes: at most this many, or (None) half of what was asked, at
    /// least one. Only for `read` and `pread`.
    ShortRead(Option<u32>),
}

impl Fault {
    /// The errno the call fails with (`EINTR` for [`Fault::Interrupted`]), none for a short read.
    #[must_use]
    pub fn errno(self) -> Option<i32> {
        match self {
            Fault::Errno(n) => Some(n),
            Fault::Interrupted => Some(4),
            Fault::ShortRead(_) => None,
        }
    }

    /// The fault a sweep injects into `op` when none is asked for: the failure that op most
    /// often meets in the field.
    #[must_use]
    pub fn default_for(op: Op) -> Fault {
        const EIO: i32 = 5;
        const ENOENT: i32 = 2;
        const ENOMEM: i32 = 12;
        const EACCES: i32 = 13;
        const EINVAL: i32 = 22;
        const EMFILE: i32 = 24;
        Fault::Errno(match op {
            Op::Open => EACCES,
            Op::Dup | Op::MemfdCreate => EMFILE,
            Op::Madvise => EINVAL,
            Op::Read | Op::Pread => EIO,
            Op::Dlopen | Op::Dlsym => ENOENT,
            _ => ENOMEM,
        })
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Errno(n) => write!(f, "errno:{n}"),
            Fault::Interrupted => f.write_str("eintr"),
            Fault::ShortRead(None) => f.write_str("short"),
            Fault::ShortRead(Some(n)) => write!(f, "short:{n}"),
        }
    }
}

/// Which calls of an op a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum When {
    /// The n-th call (counting from 1).
    Nth(u64),
    /// Every call.
    Every,
}

/// One rule of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rule {
    /// The operation.
    pub op: Op,
    /// Which of its calls.
    pub when: When,
    /// What they get.
    pub fault: Fault,
}

impl Rule {
    /// A rule; checks that the fault fits the op.
    ///
    /// # Errors
    /// [`PlanError::NotInjectable`] for an op that is never failed (see [`Op::INJECTABLE`]),
    /// [`PlanError::ShortReadNotRead`] for a short read of an op that does not read,
    /// [`PlanError::ZeroNth`] for `Nth(0)`.
    pub fn new(op: Op, when: When, fault: Fault) -> Result<Rule, PlanError> {
        if !op.injectable() {
            return Err(PlanError::NotInjectable(op));
        }
        if matches!(fault, Fault::ShortRead(_)) && !op.reads() {
            return Err(PlanError::ShortReadNotRead(op));
        }
        if when == When::Nth(0) {
            return Err(PlanError::ZeroNth);
        }
        Ok(Rule { op, when, fault })
    }

    /// Whether the `n`-th call of `op` gets this rule's fault.
    #[must_use]
    pub fn hits(&self, op: Op, n: u64) -> bool {
        self.op == op
            && match self.when {
                When::Nth(k) => k == n,
                When::Every => true,
            }
    }
}

/// At most this many rules in one plan.
pub const MAX_RULES: usize = 16;

/// A fault plan: up to [`MAX_RULES`] rules; the first that hits a call decides its fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    rules: [Option<Rule>; MAX_RULES],
    len: usize,
}

impl Default for Plan {
    fn default() -> Self {
        Self::new()
    }
}

impl Plan {
    /// The empty plan (counts, injects nothing).
    #[must_use]
    pub const fn new() -> Plan {
        Plan {
            rules: [None; MAX_RULES],
            len: 0,
        }
    }

    /// Adds a rule.
    ///
    /// # Errors
    /// [`PlanError::TooManyRules`] past [`MAX_RULES`].
    pub fn push(&mut self, rule: Rule) -> Result<(), PlanError> {
        let slot = self
            .rules
            .get_mut(self.len)
            .ok_or(PlanError::TooManyRules)?;
        *slot = Some(rule);
        self.len += 1;
        Ok(())
    }

    /// The rules, in order.
    #[must_use]
    pub fn rules(&self) -> PlanRules<'_> {
        PlanRules(self)
    }

    /// The fault the `n`-th call of `op` gets, if any.
    #[must_use]
    pub fn fault_for(&self, op: Op, n: u64) -> Option<Fault> {
        self.rules
            .iter()
            .flatten()
            .find(|rule| rule.hits(op, n))
            .map(|rule| rule.fault)
    }

    /// Parses the text form (see the module docs). An empty string is the empty plan.
    ///
    /// # Errors
    /// A [`PlanError`] naming what is wrong with which part.
    pub fn parse(text: &str) -> Result<Plan, PlanError> {
        let mut plan = Plan::new();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            plan.push(parse_rule(part)?)?;
        }
        Ok(plan)
    }
}

/// The rules of a [`Plan`], indexable and iterable.
#[derive(Debug, Clone, Copy)]
pub struct PlanRules<'a>(&'a Plan);

impl PlanRules<'_> {
    /// How many rules.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.len == 0
    }

    /// Iterates over the rules.
    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.0.rules.iter().flatten()
    }
}

impl core::ops::Index<usize> for PlanRules<'_> {
    type Output = Rule;

    fn index(&self, i: usize) -> &Rule {
        match self.0.rules.get(i) {
            Some(Some(rule)) => rule,
            _ => panic!("rule {i} of a plan with {} rules", self.0.len),
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rule) in self.rules.iter().flatten().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            match rule.when {
                When::Nth(n) => write!(f, "{}@{n}={}", rule.op, rule.fault)?,
                When::Every => write!(f, "{}@*={}", rule.op, rule.fault)?,
            }
        }
        Ok(())
    }
}

fn parse_rule(part: &str) -> Result<Rule, PlanError> {
    let (op, rest) = part.split_once('@').ok_or(PlanError::Syntax)?;
    let (when, fault) = rest.split_once('=').ok_or(PlanError::Syntax)?;
    let op = Op::from_name(op.trim()).ok_or(PlanError::UnknownOp)?;
    let when = match when.trim() {
        "*" => When::Every,
        n => When::Nth(n.parse().map_err(|_| PlanError::BadNth)?),
    };
    Rule::new(op, when, parse_fault(fault.trim())?)
}

/// Parses one fault: `errno:NAME|NUMBER`, `short`, `short:N` or `eintr`.
///
/// # Errors
/// [`PlanError::UnknownErrno`], [`PlanError::BadShortRead`] or [`PlanError::UnknownFault`].
pub fn parse_fault(text: &str) -> Result<Fault, PlanError> {
    match text.split_once(':') {
        Some(("errno", name)) => errno_from_name(name)
            .map(Fault::Errno)
            .ok_or(PlanError::UnknownErrno),
        Some(("short", n)) => match n.parse::<u32>() {
            Ok(n) if n > 0 => Ok(Fault::ShortRead(Some(n))),
            _ => Err(PlanError::BadShortRead),
        },
        None if text == "short" => Ok(Fault::ShortRead(None)),
        None if text == "eintr" => Ok(Fault::Interrupted),
        _ => Err(PlanError::UnknownFault),
    }
}

/// What is wrong with a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A rule is not of the form `OP@N=FAULT`.
    #[error("a rule is not of the form OP@N=FAULT or OP@*=FAULT")]
    Syntax,
    /// No such operation.
    #[error("unknown operation (one of: {})", OpList)]
    UnknownOp,
    /// The operation is counted but never failed.
    #[error("`{0}` is counted but never failed (it releases, or only books a process); failable: {inj}", inj = OpList)]
    NotInjectable(Op),
    /// The call number is not a positive integer or `*`.
    #[error("the call number must be a positive integer or `*`")]
    BadNth,
    /// Call numbers count from 1.
    #[error("call numbers count from 1")]
    ZeroNth,
    /// No such errno.
    #[error("unknown errno name (ENOMEM, EIO, … or a number 1-4095)")]
    UnknownErrno,
    /// `short:N` with N not a positive integer.
    #[error("a short read's byte count must be a positive integer")]
    BadShortRead,
    /// A short read for an op that reads nothing.
    #[error("a short read only applies to read and pread, not `{0}`")]
    ShortReadNotRead(Op),
    /// The fault is none of the known ones.
    #[error("unknown fault (errno:NAME, short, short:N or eintr)")]
    UnknownFault,
    /// More rules than a plan holds.
    #[error("a plan holds at most 16 rules")]
    TooManyRules,
}

struct OpList;

impl fmt::Display for OpList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, op) in Op::INJECTABLE.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(op.name())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_first_rule_wins() {
        let plan = Plan::parse(" open@3=errno:EMFILE ; read@*=eintr;read@2=short").unwrap();
        assert_eq!(
            plan.to_string(),
            "open@3=errno:24;read@*=eintr;read@2=short"
        );
        assert_eq!(Plan::parse(&plan.to_string()).unwrap(), plan);
        assert_eq!(plan.fault_for(Op::Open, 2), None);
        assert_eq!(plan.fault_for(Op::Open, 3), Some(Fault::Errno(24)));
        assert_eq!(plan.fault_for(Op::Read, 2), Some(Fault::Interrupted));
        assert_eq!(Plan::parse("").unwrap().rules().len(), 0);
    }

    #[test]
    fn every_mistake_is_named() {
        assert_eq!(Plan::parse("open"), Err(PlanError::Syntax));
        assert_eq!(Plan::parse("opne@1=eintr"), Err(PlanError::UnknownOp));
        assert_eq!(
            Plan::parse("close@1=eintr"),
            Err(PlanError::NotInjectable(Op::Close))
        );
        assert_eq!(Plan::parse("open@x=eintr"), Err(PlanError::BadNth));
        assert_eq!(Plan::parse("open@0=eintr"), Err(PlanError::ZeroNth));
        assert_eq!(
            Plan::parse("open@1=errno:ENOPE"),
            Err(PlanError::UnknownErrno)
        );
        assert_eq!(Plan::parse("read@1=short:0"), Err(PlanError::BadShortRead));
        assert_eq!(
            Plan::parse("mmap@1=short"),
            Err(PlanError::ShortReadNotRead(Op::Mmap))
        );
        assert_eq!(Plan::parse("open@1=boom"), Err(PlanError::UnknownFault));
        let many = ["open@1=eintr"; 17].join(";");
        assert_eq!(Plan::parse(&many), Err(PlanError::TooManyRules));
        assert!(PlanError::UnknownOp.to_string().contains("memfd_create"));
    }
}
