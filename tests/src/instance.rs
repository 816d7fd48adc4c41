//! What the CLAP host ([`crate::ClapBach`]) and the VST3 host
//! ([`crate::vst3_host::Vst3Bach`]) do alike, written once: playing a
//! session as a DAW does. Each host gives the few things only its ABI
//! knows (one process call, acting on the plugin's requests between
//! blocks); the order of blocks, the tail and the latency compensation are
//! here.

use bach_engine::sequencer::Transport;

use crate::{Note, Session};

/// A loaded, activated instance of the plugin behind one ABI.
pub trait Instance: Sized {
    /// A parameter's id in this ABI.
    type Param: Copy;

    /// The MIDI effect from the release bundle, for blocks of at most `max_frames`.
    fn load(max_frames: u32) -> Self;

    /// Parameter id by display name.
    fn param(&mut self, name: &str) -> Self::Param;

    fn activate(&mut self);

    fn deactivate(&mut self);

    /// The latency the plugin reports now, in samples.
    fn latency(&mut self) -> u32;

    /// A plain parameter value as this ABI sends it in a block.
    fn sent_value(&self, id: Self::Param, plain: f64) -> f64;

    /// One process call of `frames` samples starting at the absolute sample
    /// `start`, in `transport`, with input notes (offset, on, pitch) and
    /// parameter changes at offset 0 (as [`Instance::sent_value`] gives them);
    /// the notes the plugin sent are appended to `out` at absolute samples.
    fn play_block(
        &mut self,
        frames: u32,
        transport: &Transport,
        start: i64,
        notes: &[(u32, bool, u8)],
        params: &[(Self::Param, f64)],
        out: &mut Vec<Note>,
    );

    /// What a host does between blocks about the plugin's requests (a
    /// restart to apply a new latency).
    fn between_blocks(&mut self);

    /// Every sample of audio the plugin wrote, per channel, in order.
    fn audio(&mut self) -> &mut [Vec<f32>; 2];

    /// Plays a session as a DAW does, in buffers of `size` frames (cut at
    /// segment starts, as hosts cut at seeks and tempo changes); returns
    /// every note sent. First one block with the transport stopped at the
    /// song's start (its tempo and meter) carrying the parameter changes
    /// (plain values), then the session; after every block the host acts
    /// on the plugin's requests (a restart for a new latency), as the
    /// engine's pretend host does ([`Session::prepare`]). With a latency,
    /// plays on (the transport as it last was, no input) until the delayed
    /// output is all out.
    fn run(&mut self, session: &Session, size: u32, params: &[(Self::Param, f64)]) -> Vec<Note> {
        play_session(self, session, size, params, false)
    }

    /// Plays a session as [`Instance::run`] does, moving each block's notes
    /// back by the latency the plugin reports after it, as a host lines a
    /// delayed output up with its input (and as the offline harmonizer does).
    fn run_compensated(
        &mut self,
        session: &Session,
        size: u32,
        params: &[(Self::Param, f64)],
    ) -> Vec<Note> {
        play_session(self, session, size, params, true)
    }
}

fn play_session<H: Instance>(
    host: &mut H,
    session: &Session,
    size: u32,
    params: &[(H::Param, f64)],
    compensate: bool,
) -> Vec<Note> {
    let sent: Vec<(H::Param, f64)> = params
        .iter()
        .map(|&(id, plain)| (id, host.sent_value(id, plain)))
        .collect();
    let stopped = Transport {
        playing: false,
        pos_beats: None,
        bar_start: None,
        ..session.transport_at(0)
    };
    let mut out = Vec::new();
    let heard = host.audio()[0].len();
    // Notes still sounding from before end here, at the song's start.
    host.play_block(size, &stopped, 0, &[], &sent, &mut out);
    assert!(out.iter().all(|n| !n.on), "stopped and silent: {out:?}");
    for channel in host.audio() {
        channel.truncate(heard);
    }
    host.between_blocks();

    let mut notes = Vec::new();
    let block_done = |host: &mut H, out: &mut Vec<Note>, from: usize| {
        host.between_blocks();
        if compensate {
            let latency = host.latency() as i64;
            for n in &mut out[from..] {
                n.sample -= latency;
            }
        }
    };
    for block in session.blocks(size) {
        notes.clear();
        notes.extend(block.notes.iter().map(|n| (block.offset(n), n.on, n.pitch)));
        let from = out.len();
        host.play_block(
            block.frames,
            &block.transport,
            block.start,
            &notes,
            &[],
            &mut out,
        );
        block_done(host, &mut out, from);
    }
    let tail_end = session.length + host.latency() as i64;
    let mut start = session.length;
    while start < tail_end {
        let frames = (size as i64).min(tail_end - start) as u32;
        let transport = session.transport_at(start);
        let from = out.len();
        host.play_block(frames, &transport, start, &[], &[], &mut out);
        block_done(host, &mut out, from);
        start += frames as i64;
    }
    out
}
