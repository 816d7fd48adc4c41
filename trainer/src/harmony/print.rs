//! `bach-trainer harmony`'s output: the figures as a table, or as JSON.

use anyhow::Result;

use super::{report, HarmonyArgs, HarmonyReport, HarmonyRow};
use crate::roman::{RomanSummary, CADENCES};

/// Runs `bach-trainer harmony`.
pub fn run(args: HarmonyArgs) -> Result<()> {
    let report = report(&args)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    print(&report);
    Ok(())
}

/// Prints the figures as tables, the reference (Bach, or the files' own
/// harmonizations) named as `report.reference` says.
pub fn print(report: &HarmonyReport) {
    let whom = report.reference.row();
    println!(
        "{} pieces; key {}; seeds {:?}; NLL of A, T, B given S, no lookahead: {:.4} nats per step ({})",
        report.pieces,
        report.key,
        report.seeds,
        report.atb_given_s_nll,
        report
            .per_voice_nll
            .iter()
            .map(|(n, v)| format!("{n} {v:.4}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "{:<13} {:<5} {:>6} {:>8} {:>10} {:>8} {:>10} {:>9} {:>9} {:>7} {:>7} {:>8} {:>6} {:>9}",
        "lookahead",
        "meter",
        "pieces",
        "NLL ATB",
        "consonant",
        "off-key",
        "parallels",
        format!("x {whom}"),
        "crossings",
        "onsets",
        "range",
        "fermata",
        "V-I",
        "opening"
    );
    let percent = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{:.1}%", 100.0 * x));
    for r in &report.rows {
        let rows = [
            ("", &r.model, Some(r.atb_given_s_nll)),
            ("reference", &r.bach, None),
        ];
        for (who, h, nll) in rows {
            if !who.is_empty() && r.lookahead != "off" {
                continue;
            }
            println!(
                "{:<13} {:<5} {:>6} {:>8} {:>10} {:>8} {:>10.3} {:>9} {:>9.3} {:>7.2} {:>7} {:>8} {:>6} {:>9}",
                if who.is_empty() {
                    r.lookahead.clone()
                } else {
                    whom.into()
                },
                r.meter,
                r.pieces,
                nll.map_or("-".into(), |n| format!("{n:.4}")),
                percent(Some(h.consonant_strong_beats)),
                percent(h.out_of_key_share),
                h.parallels_per_100,
                if who.is_empty() {
                    format!("{:.2}", r.parallels_ratio)
                } else {
                    "-".into()
                },
                h.crossings_per_100,
                h.onsets_per_100,
                percent(Some(h.out_of_range_share)),
                percent(h.fermata_root_triad_share),
                percent(h.fermata_v_i_share),
                percent(h.opening_out_of_key_share),
            );
        }
    }
    println!(
        "per 100 steps: parallels, crossings, onsets; consonant: share of strong beats; \
         off-key: A, T, B onsets outside the piece's key; fermata: phrase ends on a complete \
         root-position triad; V-I: those with the bass a fourth up or fifth down; opening: \
         A, T, B onsets outside the key in the pickup and first full bar; pitch-class \
         distance {:.4}",
        report.pitch_class_distance
    );
    print_roman(report);
}

/// The cadences at fermatas and the Roman numerals on beats, each
/// lookahead (all meters) beside the reference's (`roman.rs`).
fn print_roman(report: &HarmonyReport) {
    let rows: Vec<&HarmonyRow> = report.rows.iter().filter(|r| r.meter == "all").collect();
    let Some(first) = rows.first() else { return };
    if first.bach.roman.numerals.is_empty() {
        return;
    }
    let whose = report.reference.whose();
    println!();
    println!(
        "{:<13} {:>9} {:>6} {:>7} {:>9} {:>6} {:>9}  commonest numerals on beats, share \
         ({whose} eight commonest)",
        "cadences", CADENCES[0], CADENCES[1], CADENCES[2], CADENCES[3], CADENCES[4], "numerals",
    );
    // The reference's eight commonest numerals, the columns every row is read in.
    let names: Vec<&str> = first
        .bach
        .roman
        .numerals
        .iter()
        .take(8)
        .map(|(n, _)| n.as_str())
        .collect();
    let share = |s: &RomanSummary, n: &str| {
        s.numerals
            .iter()
            .find(|(m, _)| m == n)
            .map_or(0.0, |(_, x)| *x)
    };
    let bach = (report.reference.row(), &first.bach.roman, None);
    let ours = rows.iter().map(|r| {
        (
            r.lookahead.as_str(),
            &r.model.roman,
            Some(r.numeral_distance),
        )
    });
    for (who, s, distance) in std::iter::once(bach).chain(ours) {
        let c = s
            .cadences
            .unwrap_or([0.0; 5])
            .map(|x| format!("{:.1}%", 100.0 * x));
        let mix: Vec<String> = names
            .iter()
            .map(|n| format!("{n} {:.1}%", 100.0 * share(s, n)))
            .collect();
        println!(
            "{:<13} {:>9} {:>6} {:>7} {:>9} {:>6} {:>9}  {}",
            who,
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            distance.map_or("-".into(), |d| format!("{d:.3}")),
            mix.join(", ")
        );
    }
    println!(
        "cadences: at the fermatas, the chord there and the last different one on a beat \
         before it; numerals: distance of the mix of numerals on beats from {whose} (0 to 1), \
         root-position forms, in the data's key (bach_engine::chord)"
    );
}
