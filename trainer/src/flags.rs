//! Defaults read from the flags themselves, so each default is written once,
//! in its `#[arg]`.

/// What `train` runs with when none of a group's flags is given: the
/// defaults written in the group's `#[arg]`s.
pub(crate) fn flag_defaults<T: clap::Args + clap::FromArgMatches>() -> T {
    let flags = T::augment_args(clap::Command::new("defaults"))
        .no_binary_name(true)
        .try_get_matches_from(Vec::<String>::new())
        .expect("every flag has a default");
    T::from_arg_matches(&flags).expect("every flag has a default")
}
