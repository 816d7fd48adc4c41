ardour {
	["type"]    = "dsp",
	name        = "Bach MIDI Log",
	category    = "Utility",
	license     = "MIT",
	author      = "Bach tests",
	description = [[Passes MIDI and audio through unchanged and records every MIDI event
(with the transport sample of its cycle) and, when Audio is on, each rolling
cycle's audio peak, in its shared memory for session.lua to print. For the
Ardour end-to-end test (cli/tests/daw.rs).]]
}

-- Audio passes in place (as many outs as ins), MIDI too: the script only reads.
function dsp_ioconfig ()
	return { { midi_in = 1, midi_out = 1, audio_in = -1, audio_out = -1 } }
end

function dsp_params ()
	return {
		{ ["type"] = "input", name = "Audio", min = 0, max = 1, default = 0, toggle = true },
	}
end

-- Shared memory, as ints: [1] = records written, then 6 ints a record:
--   kind (1 = MIDI event, 2 = audio peak), cycle start sample, offset in the
--   cycle, rolling (0/1), and status * 65536 + data1 * 256 + data2 (MIDI) or
--   the peak * 1e6 (audio). LuaProc's print goes to Ardour's log, not stdout.
local RECORD = 6
local CAPACITY = 40000
local n_audio = 0
local n_out

function dsp_init (rate)
	self:shmem ():allocate (1 + RECORD * CAPACITY)
	self:shmem ():clear ()
end

function dsp_configure (ins, outs)
	n_audio = ins:n_audio ()
	n_out = outs
end

local function record (mem, kind, pos, offset, rolling, value)
	local n = mem[1]
	if n >= CAPACITY then return end
	local at = 1 + n * RECORD
	mem[at + 1] = kind
	mem[at + 2] = pos
	mem[at + 3] = offset
	mem[at + 4] = rolling
	mem[at + 5] = value
	mem[1] = n + 1
end

function dsp_runmap (bufs, in_map, out_map, n_samples, offset)
	local mem = self:shmem ():to_int (0):array ()
	local ctrl = CtrlPorts:array ()
	local pos = Session:transport_sample ()
	local rolling = Session:transport_rolling () and 1 or 0
	-- Pass everything through (a no-op when processed in place).
	ARDOUR.DSP.process_map (bufs, n_out, in_map, out_map, n_samples, offset)
	local ib = in_map:get (ARDOUR.DataType ("midi"), 0)
	if ib ~= ARDOUR.ChanMapping.Invalid then
		for _, e in pairs (bufs:get_midi (ib):table ()) do
			local d = e:buffer ():array ()
			local n = e:size ()
			local b1 = n > 1 and d[2] or 0
			local b2 = n > 2 and d[3] or 0
			record (mem, 1, pos, e:time (), rolling, d[1] * 65536 + b1 * 256 + b2)
		end
	end
	if ctrl[1] > 0 and rolling == 1 then
		local peak = 0
		for c = 1, n_audio do
			local b = in_map:get (ARDOUR.DataType ("audio"), c - 1)
			if b ~= ARDOUR.ChanMapping.Invalid then
				local a = ARDOUR.DSP.compute_peak (bufs:get_audio (b):data (offset), n_samples, 0)
				if a > peak then peak = a end
			end
		end
		record (mem, 2, pos, 0, rolling, math.floor (peak * 1e6))
	end
end
