//! How every command reaches a decider: one envelope (who asks, when it happened, the policy in
//! force) around one body (what is asked), and one [`Step`] per body that says who may ask and
//! what the rules allow.
//!
//! A command kind is declared once, as a struct in the step's module with its `Step` impl beside
//! it; the aggregate's command enum is a list of one-line arms ([`commands!`]) that dispatches to
//! the step.

use std::fmt::Debug;

use chrono::{DateTime, NaiveDate, Utc};

use crate::actor::{Actor, Role};
use crate::calendar::china_date;
use crate::policy::{PolicyBook, PolicyRules};

/// A command as the domain receives it.
///
/// Time, identity and policy arrive here, never from a clock or a store: `at` is the business
/// time the device reported, and `policy` the book of the province the stream belongs to. The
/// step applies the rules in force on `at`'s China date, so no caller can have a step judged by
/// another year's rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Command<B> {
    pub actor: Actor,
    /// Business time: when it happened (as opposed to when the log learnt it).
    pub at: DateTime<Utc>,
    /// The province's policy book; empty means the national 2023 rules.
    pub policy: PolicyBook,
    pub body: B,
}

impl<B> Command<B> {
    pub fn new(actor: Actor, at: DateTime<Utc>, body: impl Into<B>) -> Self {
        Self {
            actor,
            at,
            policy: PolicyBook::default(),
            body: body.into(),
        }
    }

    /// The same command judged under a province's policy book.
    pub fn under(mut self, policy: PolicyBook) -> Self {
        self.policy = policy;
        self
    }

    /// The same command issued by someone else.
    pub fn by(mut self, actor: Actor) -> Self {
        self.actor = actor;
        self
    }

    /// The business date in China.
    pub fn today(&self) -> NaiveDate {
        china_date(self.at)
    }

    /// What a step sees of the command besides its own body.
    pub fn ctx<'a, S>(&'a self, state: &'a S) -> Ctx<'a, S> {
        Ctx {
            state,
            by: &self.actor,
            at: self.at,
            today: self.today(),
            policy: &self.policy,
        }
    }
}

/// What every step needs besides its own fields: the folded state and the envelope.
pub struct Ctx<'a, S> {
    pub state: &'a S,
    pub by: &'a Actor,
    pub at: DateTime<Utc>,
    /// The business date in China.
    pub today: NaiveDate,
    pub policy: &'a PolicyBook,
}

impl<S> Ctx<'_, S> {
    /// The rules in force on the command's business date.
    pub fn rules(&self) -> PolicyRules {
        self.policy.rules_in_force(self.today)
    }
}

/// An aggregate's state, and what its steps decide into.
pub trait Aggregate {
    type Event;
    type Error;
}

/// One kind of command of an aggregate whose state is `S`: its name, who may issue it, and the
/// decision. Every check lives in `decide`; a step returns exactly one fact.
pub trait Step<S: Aggregate> {
    /// A verb phrase for messages ("a 网格员 may not …").
    const ACTION: &'static str;
    /// The roles that may issue it. The read-only inspection roles appear in no list.
    const ROLES: &'static [Role];

    /// `ROLES`, unless the step's own fields decide (a visit's kind, say).
    fn roles(&self) -> &'static [Role] {
        Self::ROLES
    }

    fn decide(&self, ctx: &Ctx<'_, S>) -> Result<S::Event, S::Error>;
}

/// Declares an aggregate's command enum: one tuple arm per step struct, `From` for each, and
/// `action`, `roles` and `decide` dispatched to the arm's [`Step`].
macro_rules! commands {
    (
        $(#[$meta:meta])*
        pub enum $name:ident for $state:ty {
            $( $(#[$vmeta:meta])* $variant:ident($body:ty), )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name {
            $( $(#[$vmeta])* $variant($body), )+
        }

        impl $name {
            /// The command's name, as a verb phrase for messages.
            pub fn action(&self) -> &'static str {
                use $crate::command::Step;
                match self {
                    $( Self::$variant(_) => <$body as Step<$state>>::ACTION, )+
                }
            }

            /// Which roles may issue it.
            pub fn roles(&self) -> &'static [$crate::actor::Role] {
                use $crate::command::Step;
                match self {
                    $( Self::$variant(body) => body.roles(), )+
                }
            }

            /// The step's own decision (access and the aggregate's common checks come first,
            /// in the aggregate's `decide`).
            pub fn decide(
                &self,
                ctx: &$crate::command::Ctx<'_, $state>,
            ) -> Result<
                <$state as $crate::command::Aggregate>::Event,
                <$state as $crate::command::Aggregate>::Error,
            > {
                use $crate::command::Step;
                match self {
                    $( Self::$variant(body) => body.decide(ctx), )+
                }
            }
        }

        $(
            impl From<$body> for $name {
                fn from(body: $body) -> Self {
                    Self::$variant(body)
                }
            }
        )+
    };
}

pub(crate) use commands;
