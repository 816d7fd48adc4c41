-- Bach in a headless Ardour (ardour7-lua, "None (Dummy)" backend), for the
-- end-to-end test cli/tests/daw.rs, which sets these environment variables:
--   BACH_DAW_DIR      a fresh directory for the session
--   BACH_DAW_BPM      tempo (quarter notes a minute)
--   BACH_DAW_METER    "num/den"; BACH_DAW_PICKUP: beats (of den) before bar 2, 0 for none
--   BACH_DAW_NOTES    the melody: "start:len:pitch,..." in ticks (1920 a quarter note)
--   BACH_DAW_PLAY     samples to roll from 0 before the first stop
--   BACH_DAW_LOCATE   sample to locate to after the stop; BACH_DAW_REPLAY: samples to roll then
--   BACH_DAW_SPEED    the dummy backend's driver ("Normal Speed", "Double Speed", ...)
--   BACH_DAW_BUFFER   the backend's buffer size in frames (default 1024)
--   BACH_DAW_STEPS    what to do once the session is reloaded, ";"-separated (default:
--                     "roll:0:PLAY;roll:LOCATE:LOCATE+REPLAY"):
--                       roll:FROM:TO   locate to sample FROM, roll until TO, stop
--                       set:NAME=V,... set parameters of both Bach plugins (by the label
--                                      the host shows, plain values as Ardour has them)
--                       reload         save the session, close it, load it again
-- Two tracks play the melody: 1 = Bach (VST3) -> log (tag 1) -> ACE Reasonable Synth,
-- 2 = Bach Instrument (VST3) -> log (tag 2, audio peaks). A log before each
-- (tags 11, 12) records the melody as Ardour plays it. Lines printed:
--   BACHLOG tag cycle_start offset rolling status d1 d2   (bach_midi_log.lua)
--   BACHPEAK tag cycle_start peak
--   BACHMARK what sample
--   BACHPLUGIN name type category audio_in midi_in audio_out midi_out
--   BACHPARAM track label value       (each parameter set, after each set and reload)
--   BACHLATENCY track samples         (each track's signal latency before each roll)
io.stdout:setvbuf ("line")
local function env (k, d)
	local v = os.getenv (k)
	if v == nil or v == "" then
		assert (d ~= nil, "missing " .. k)
		return d
	end
	return v
end
local function mark (what, s) print (string.format ("BACHMARK %s %d", what, s)) end

local bpm = tonumber (env ("BACH_DAW_BPM", "120"))
local num, den = env ("BACH_DAW_METER", "4/4"):match ("(%d+)/(%d+)")
num, den = tonumber (num), tonumber (den)
local pickup = tonumber (env ("BACH_DAW_PICKUP", "0"))
local steps = os.getenv ("BACH_DAW_STEPS")
if steps == nil or steps == "" then
	local play = tonumber (env ("BACH_DAW_PLAY"))
	local locate_at = tonumber (env ("BACH_DAW_LOCATE"))
	local replay = tonumber (env ("BACH_DAW_REPLAY"))
	steps = string.format ("roll:0:%d;roll:%d:%d", play, locate_at, locate_at + replay)
end
local TPB = Temporal.ticks_per_beat

local backend = AudioEngine:set_backend ("None (Dummy)", "", "")
assert (backend, "no dummy backend")
backend:set_driver (env ("BACH_DAW_SPEED", "Normal Speed"))
AudioEngine:set_buffer_size (tonumber (env ("BACH_DAW_BUFFER", "1024")))
assert (create_session (env ("BACH_DAW_DIR") .. "/session", "bach", 48000), "create_session failed")
assert (Session:nominal_sample_rate () == 48000)

-- What Ardour's plugin scan found (each once; spaces in names as _):
--   BACHPLUGIN name type category audio_in midi_in audio_out midi_out
local listed = {}
for p in ARDOUR.LuaAPI.list_plugins ():iter () do
	if p.name:find ("^Bach") and not listed[p.unique_id] then
		listed[p.unique_id] = true
		print (string.format ("BACHPLUGIN %s %s %s %d %d %d %d", p.name:gsub (" ", "_"), ARDOUR.PluginType.name (p.type),
			p.category, p.n_inputs:n_audio (), p.n_inputs:n_midi (), p.n_outputs:n_audio (), p.n_outputs:n_midi ()))
	end
end

-- Tempo, meter, and a bar of `pickup` beats first.
local tm = Temporal.TempoMap.fetch_writable ()
tm:set_tempo (Temporal.Tempo (bpm, bpm, 4), Temporal.timepos_t (0))
if pickup > 0 then
	tm:set_meter (Temporal.Meter (pickup, den), Temporal.timepos_t (0))
	tm:set_meter (Temporal.Meter (num, den), Temporal.timepos_t.from_ticks (math.floor (pickup * TPB * 4 / den)))
else
	tm:set_meter (Temporal.Meter (num, den), Temporal.timepos_t (0))
end
Temporal.TempoMap.update (tm)

local function beats (ticks) return Temporal.Beats (ticks // TPB, ticks % TPB) end
local notes = {}
local last = 0
for s, l, p in env ("BACH_DAW_NOTES"):gmatch ("(%d+):(%d+):(%d+)") do
	s, l, p = tonumber (s), tonumber (l), tonumber (p)
	notes[#notes + 1] = { s, l, p }
	if s + l > last then last = s + l end
end
local region_len = Temporal.TempoMap.read ():sample_at (Temporal.timepos_t.from_ticks (last))

local function processor (name, kind, index, track)
	local p
	if kind == "lua" then
		p = ARDOUR.LuaAPI.new_luaproc (Session, name)
	else
		p = ARDOUR.LuaAPI.new_plugin (Session, name, kind, "")
	end
	assert (not p:isnil (), "cannot make " .. name)
	assert (track:add_processor_by_index (p, index, nil, true) == 0, "cannot add " .. name)
	return p
end
local function logger (track, index, audio)
	local p = processor ("Bach MIDI Log", "lua", index, track)
	ARDOUR.LuaAPI.set_processor_param (p, 0, audio and 1 or 0)
	return p
end
-- The loggers of the session as loaded: on track Fx (tag 1 after Bach, 11
-- before) and Inst (2 and 12).
local loggers = {}
local function find_loggers ()
	loggers = {}
	for t in Session:get_tracks ():iter () do
		local i, bach_seen = 0, false
		while true do
			local p = t:nth_processor (i)
			if p:isnil () then break end
			local name = p:display_name ()
			print ("BACHPROC", t:name (), i, name, p:active () and "active" or "inactive")
			if name:find ("^Bach") and name ~= "Bach MIDI Log" then bach_seen = true end
			if name == "Bach MIDI Log" then
				local tag = (t:name () == "Fx" and 1 or 2) + (bach_seen and 0 or 10)
				loggers[#loggers + 1] = { tag = tag, proc = p, seen = 0 }
			end
			i = i + 1
		end
	end
	assert (#loggers == 4, "expected 4 loggers")
end
-- Prints what the loggers recorded since the last call.
local function drain ()
	for _, l in ipairs (loggers) do
		local mem = l.proc:to_insert ():plugin (0):to_luaproc ():shmem ():to_int (0):array ()
		local n = mem[1]
		for i = l.seen, n - 1 do
			local at = 1 + i * 6
			local kind, pos, off, rolling, v = mem[at + 1], mem[at + 2], mem[at + 3], mem[at + 4], mem[at + 5]
			if kind == 1 then
				print (string.format ("BACHLOG %d %d %d %d %d %d %d", l.tag, pos, off, rolling, v // 65536, (v // 256) % 256, v % 256))
			else
				print (string.format ("BACHPEAK %d %d %.6f", l.tag, pos, v / 1e6))
			end
		end
		l.seen = n
	end
end

local function melody_track (name)
	local tl = Session:new_midi_track (ARDOUR.ChanCount (ARDOUR.DataType ("midi"), 1),
		ARDOUR.ChanCount (ARDOUR.DataType ("audio"), 2), false, ARDOUR.PluginInfo (), nil, nil, 1, name,
		ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true, false)
	local track = tl:front ()
	-- luasession imports no files: bounce the empty track for a region, write the notes into it.
	local region = track:bounce_range (0, region_len, ARDOUR.InterThreadInfo (), track:main_outs (), false, name)
	assert (not region:isnil (), "bounce failed")
	local model = region:to_midiregion ():model ()
	local cmd = model:new_note_diff_command ("melody")
	for _, n in ipairs (notes) do
		cmd:add (ARDOUR.LuaAPI.new_noteptr (0, beats (n[1]), beats (n[2]), n[3], 90))
	end
	model:apply_command (Session, cmd)
	-- As an import does (sets the session range, which the export needs).
	Session:begin_reversible_command ("insert file")
	local pl = track:playlist ()
	pl:to_stateful ():clear_changes ()
	pl:add_region (region, Temporal.timepos_t (0), 1, false)
	Session:add_stateful_diff_command (pl:to_statefuldestructible ())
	Session:commit_reversible_command (nil)
	return track
end

local fx = melody_track ("Fx")
logger (fx, 0, false)
processor ("Bach", ARDOUR.PluginType.VST3, 1, fx)
logger (fx, 2, false)
processor ("https://community.ardour.org/node/7596", ARDOUR.PluginType.LV2, 3, fx)

local inst = melody_track ("Inst")
logger (inst, 0, false)
processor ("Bach Instrument", ARDOUR.PluginType.VST3, 1, inst)
logger (inst, 2, true)

print ("BACHRANGE", Session:current_start_sample (), Session:current_end_sample (), region_len)
assert (Session:save_state ("") == 0, "save_state failed")
-- Played after reopening, as a user's project (and a model edited in this
-- process does not reach the playlist's playback).
close_session ()
assert (load_session (env ("BACH_DAW_DIR") .. "/session", "bach"), "load_session failed")
find_loggers ()

local TRS = ARDOUR.TransportRequestSource.TRS_UI
-- Waits (printing what the loggers record) until cond () or, when `quietly`,
-- for `seconds`; fails past `seconds` otherwise.
local function wait_until (cond, seconds, quietly)
	local n = 0
	while not cond () do
		sleep (0.01)
		drain ()
		n = n + 1
		if n >= seconds * 100 then
			assert (quietly, "transport timed out")
			return
		end
	end
end
local function roll_until (to)
	Session:request_roll (TRS)
	wait_until (function () return Session:transport_rolling () end, 10)
	mark ("rolling", Session:transport_sample ())
	wait_until (function () return Session:transport_sample () >= to end, 120)
	Session:request_stop (false, false, TRS)
	wait_until (function () return Session:transport_stopped_or_stopping () and not Session:transport_rolling () end, 10)
	sleep (0.2)
	mark ("stopped", Session:transport_sample ())
end
local function locate (to)
	Session:request_locate (to, false, ARDOUR.LocateTransportDisposition.MustStop, TRS)
	wait_until (function () return Session:transport_sample () == to end, 10)
	sleep (0.2)
	mark ("located", Session:transport_sample ())
end

-- The Bach plugins of the session as loaded, with their parameters by label.
local set_params = {}
local function bach_plugins ()
	local found = {}
	for t in Session:get_tracks ():iter () do
		local i = 0
		while true do
			local p = t:nth_processor (i)
			if p:isnil () then break end
			local name = p:display_name ()
			if name:find ("^Bach") and name ~= "Bach MIDI Log" then
				local plug = p:to_insert ():plugin (0)
				local index = {}
				-- The plugin's own parameters come first (MIDI CC proxies follow).
				for j = 0, math.min (plug:parameter_count (), 64) - 1 do
					index[plug:parameter_label (j)] = j
				end
				found[#found + 1] = { track = t, proc = p, index = index }
			end
			i = i + 1
		end
	end
	assert (#found == 2, "expected 2 Bach plugins")
	return found
end
local function print_params ()
	for _, b in ipairs (bach_plugins ()) do
		for _, name in ipairs (set_params) do
			if b.index[name] ~= nil then
				print (string.format ("BACHPARAM %s %s %s", b.track:name (), name:gsub (" ", "_"),
					tostring (ARDOUR.LuaAPI.get_processor_param (b.proc, b.index[name]))))
			end
		end
	end
end
local function set (list)
	for name, value in list:gmatch ("([^=,]+)=([^,]+)") do
		local known = false
		for _, n in ipairs (set_params) do known = known or n == name end
		if not known then set_params[#set_params + 1] = name end
		-- Each plugin that has it (the preview's only Bach Instrument).
		local any = false
		for _, b in ipairs (bach_plugins ()) do
			local j = b.index[name]
			if j ~= nil then
				assert (ARDOUR.LuaAPI.set_processor_param (b.proc, j, tonumber (value)), "cannot set " .. name)
				any = true
			end
		end
		assert (any, "no parameter " .. name)
	end
	-- Let the plugins hear it (they run while stopped) and Ardour take up
	-- a new latency (restartComponent, then its latency recompute).
	wait_until (function () return false end, 1, true)
	print_params ()
end
local function reload ()
	drain ()
	assert (Session:save_state ("") == 0, "save_state failed")
	close_session ()
	assert (load_session (env ("BACH_DAW_DIR") .. "/session", "bach"), "load_session failed")
	find_loggers ()
	mark ("reloaded", 0)
	print_params ()
end
local function latencies ()
	for t in Session:get_tracks ():iter () do
		print (string.format ("BACHLATENCY %s %d", t:name (), t:to_route ():signal_latency ()))
	end
end

for step in steps:gmatch ("[^;]+") do
	local what, rest = step:match ("^(%a+):?(.*)$")
	if what == "roll" then
		local from, to = rest:match ("^(%d+):(%d+)$")
		locate (tonumber (from))
		latencies ()
		roll_until (tonumber (to))
	elseif what == "set" then
		set (rest)
	elseif what == "reload" then
		reload ()
	else
		error ("bad step " .. step)
	end
end
sleep (0.2)
drain ()
mark ("done", 0)
close_session ()
quit ()
