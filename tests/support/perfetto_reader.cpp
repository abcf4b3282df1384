#include "support/perfetto_reader.h"

#include <fmt/format.h>

namespace pagetrace::test {

namespace {

struct Interned {
    std::map<uint64_t, std::string> event_names;
    std::map<uint64_t, std::string> annotation_names;
};

void parse_interned(std::string_view data, Interned& interned) {
    WireReader r(data);
    while (!r.done()) {
        const auto f = r.next();
        if (f.number != 2 && f.number != 3) continue;
        WireReader entry(f.data);
        uint64_t iid = 0;
        std::string name;
        while (!entry.done()) {
            const auto e = entry.next();
            if (e.number == 1) iid = e.value;
            if (e.number == 2) name = std::string(e.data);
        }
        (f.number == 2 ? interned.event_names : interned.annotation_names)[iid] = name;
    }
}

TraceTrack parse_descriptor(std::string_view data) {
    TraceTrack t;
    WireReader r(data);
    while (!r.done()) {
        const auto f = r.next();
        switch (f.number) {
        case 1: t.uuid = f.value; break;
        case 2: t.name = std::string(f.data); break;
        case 5: t.parent_uuid = f.value; break;
        case 3: {
            t.is_process = true;
            WireReader p(f.data);
            while (!p.done()) {
                const auto pf = p.next();
                if (pf.number == 1) t.pid = static_cast<int64_t>(pf.value);
                if (pf.number == 6) t.process_name = std::string(pf.data);
            }
            break;
        }
        case 4: {
            t.is_thread = true;
            WireReader p(f.data);
            while (!p.done()) {
                const auto pf = p.next();
                if (pf.number == 1) t.pid = static_cast<int64_t>(pf.value);
                if (pf.number == 2) t.tid = static_cast<int64_t>(pf.value);
                if (pf.number == 5) t.name = std::string(pf.data);
            }
            break;
        }
        case 8: t.is_counter = true; break;
        default: break;
        }
    }
    return t;
}

std::string annotation_text(const WireReader::Field& f) {
    if (f.wire_type == 2) return std::string(f.data);
    if (f.number == 7) return fmt::format("{:#x}", f.value);
    if (f.number == 4) return std::to_string(static_cast<int64_t>(f.value));
    return std::to_string(f.value);
}

TraceEvent parse_event(std::string_view data, const Interned& interned, ParsedTrace& trace) {
    TraceEvent e;
    WireReader r(data);
    while (!r.done()) {
        const auto f = r.next();
        switch (f.number) {
        case 9: e.type = static_cast<int>(f.value); break;
        case 11: e.track_uuid = f.value; break;
        case 23: e.name = std::string(f.data); break;
        case 10: {
            auto it = interned.event_names.find(f.value);
            if (it == interned.event_names.end()) {
                trace.problems.push_back(fmt::format("event name iid {} used before defined", f.value));
            } else {
                e.name = it->second;
            }
            break;
        }
        case 30: e.counter_value = static_cast<int64_t>(f.value); break;
        case 47: e.flow_ids.push_back(f.value); break;
        case 48: e.terminating_flow_ids.push_back(f.value); break;
        case 4: {
            WireReader a(f.data);
            std::string name, value;
            while (!a.done()) {
                const auto af = a.next();
                if (af.number == 1) {
                    auto it = interned.annotation_names.find(af.value);
                    if (it == interned.annotation_names.end()) {
                        trace.problems.push_back(
                            fmt::format("annotation name iid {} used before defined", af.value));
                    } else {
                        name = it->second;
                    }
                } else if (af.number == 10) {
                    name = std::string(af.data);
                } else {
                    value = annotation_text(af);
                }
            }
            e.args[name] = value;
            break;
        }
        default: break;
        }
    }
    return e;
}

}  // namespace

ParsedTrace parse_perfetto_trace(std::string_view bytes) {
    ParsedTrace trace;
    Interned interned;
    std::map<uint32_t, uint64_t> last_ts;  // per sequence
    WireReader top(bytes);
    while (!top.done()) {
        const auto packet_field = top.next();
        if (packet_field.number != 1 || packet_field.wire_type != 2) {
            throw std::runtime_error("a Trace holds only packets (field 1)");
        }
        WireReader p(packet_field.data);
        uint64_t ts = 0;
        bool has_ts = false;
        uint32_t sequence = 0;
        std::string_view event, descriptor, interned_data, clock_snapshot;
        while (!p.done()) {
            const auto f = p.next();
            switch (f.number) {
            case 8: ts = f.value; has_ts = true; break;
            case 10: sequence = static_cast<uint32_t>(f.value); break;
            case 11: event = f.data; break;
            case 60: descriptor = f.data; break;
            case 12: interned_data = f.data; break;
            case 6: clock_snapshot = f.data; break;
            default: break;
            }
        }
        if (!interned_data.empty()) parse_interned(interned_data, interned);
        if (!clock_snapshot.empty()) {
            WireReader c(clock_snapshot);
            while (!c.done()) {
                const auto f = c.next();
                if (f.number == 2) trace.primary_clock = static_cast<uint32_t>(f.value);
                if (f.number != 1) continue;
                WireReader clock(f.data);
                uint32_t id = 0;
                uint64_t at = 0;
                while (!clock.done()) {
                    const auto cf = clock.next();
                    if (cf.number == 1) id = static_cast<uint32_t>(cf.value);
                    if (cf.number == 2) at = cf.value;
                }
                trace.clocks[id] = at;
            }
        }
        if (!descriptor.empty()) {
            TraceTrack t = parse_descriptor(descriptor);
            trace.tracks[t.uuid] = t;
        }
        if (!event.empty()) {
            if (!has_ts) trace.problems.push_back("a track event without a timestamp");
            TraceEvent e = parse_event(event, interned, trace);
            e.ts = ts;
            e.sequence = sequence;
            auto [it, first] = last_ts.try_emplace(sequence, ts);
            if (!first && ts < it->second) {
                trace.problems.push_back(fmt::format("timestamp {} after {} on sequence {}", ts,
                                                     it->second, sequence));
            }
            it->second = std::max(it->second, ts);
            trace.events.push_back(std::move(e));
        }
    }
    // Every event's track is described; parents exist; slices balance.
    std::map<uint64_t, int> depth;
    for (const TraceEvent& e : trace.events) {
        if (!trace.tracks.count(e.track_uuid)) {
            trace.problems.push_back(fmt::format("track_uuid {} has no descriptor", e.track_uuid));
        }
        if (e.type == 1) ++depth[e.track_uuid];
        if (e.type == 2 && --depth[e.track_uuid] < 0) {
            trace.problems.push_back(fmt::format("a slice end without a begin on track {}",
                                                 e.track_uuid));
            depth[e.track_uuid] = 0;
        }
    }
    for (const auto& [uuid, open] : depth) {
        if (open != 0) trace.problems.push_back(fmt::format("{} slice(s) left open on track {}", open, uuid));
    }
    for (const auto& [uuid, t] : trace.tracks) {
        if (t.parent_uuid && !trace.tracks.count(t.parent_uuid)) {
            trace.problems.push_back(fmt::format("track {} has an unknown parent {}", uuid, t.parent_uuid));
        }
    }
    return trace;
}

const TraceTrack* ParsedTrace::process_track(int64_t pid) const {
    for (const auto& [uuid, t] : tracks) {
        if (t.is_process && t.pid == pid) return &t;
    }
    return nullptr;
}

std::vector<const TraceEvent*> ParsedTrace::counter_events(int64_t pid, std::string_view name) const {
    std::set<uint64_t> wanted;
    for (const auto& [uuid, t] : tracks) {
        if (!t.is_counter || t.name != name) continue;
        auto parent = tracks.find(t.parent_uuid);
        if (parent != tracks.end() && parent->second.pid == pid) wanted.insert(uuid);
    }
    std::vector<const TraceEvent*> out;
    for (const TraceEvent& e : events) {
        if (e.type == 4 && wanted.count(e.track_uuid)) out.push_back(&e);
    }
    return out;
}

}  // namespace pagetrace::test
