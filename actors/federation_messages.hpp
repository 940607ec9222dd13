#pragma once

// The federation's atoms and the message types that cross the wire between
// engines (each with an `inspect` overload and registered under a name by
// `add_federation_types`; no unsafe message type on that path).

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include "src/federation/topology.hpp"
#include "src/federation/wire.hpp"

namespace ee::federation {

/// The peering handshake: who an engine is.
struct hello {
  std::string name;
  /// Random per incarnation of the engine.
  std::uint64_t epoch = 0;
  /// True if the engine's links use TLS.
  bool tls = false;
};

/// Events on one link, each with its link sequence number.
struct event_batch_msg {
  std::vector<std::uint64_t> seqs;
  std::vector<wire_event> events;
};

/// Node infos, flooded.
struct nodes_msg {
  std::vector<node_info> nodes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wire_event& x) {
  return f(caf::meta::type_name("ee_fed_event"), x.origin, x.epoch, x.seq,
           x.bytes);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_info& x) {
  return f(caf::meta::type_name("ee_fed_node"), x.name, x.epoch, x.version,
           x.neighbours, x.filters);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hello& x) {
  return f(caf::meta::type_name("ee_fed_hello"), x.name, x.epoch, x.tls);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_batch_msg& x) {
  return f(caf::meta::type_name("ee_fed_batch"), x.seqs, x.events);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, nodes_msg& x) {
  return f(caf::meta::type_name("ee_fed_nodes"), x.nodes);
}

/// Registers the wire types with `cfg` (both ends must).
void add_federation_types(caf::actor_system_config& cfg);

// -- engine <-> engine (over the middleman) -----------------------------------

/// `(hello_atom, hello)`: the dialler introduces itself.
using hello_atom = caf::atom_constant<caf::atom("fhello")>;
/// `(welcome_atom, hello)`: the accepting engine introduces itself.
using welcome_atom = caf::atom_constant<caf::atom("fwelcome")>;
/// `(refuse_atom, reason)`: the link is refused.
using refuse_atom = caf::atom_constant<caf::atom("frefuse")>;
/// `(nodes_atom, nodes_msg)`: newer node infos.
using nodes_atom = caf::atom_constant<caf::atom("fnodes")>;
/// `(events_atom, event_batch_msg)`.
using events_atom = caf::atom_constant<caf::atom("fevents")>;
/// `(fack_atom, seq)`: every event up to `seq` is in the receiver's custody
/// chain (cumulative).
using fack_atom = caf::atom_constant<caf::atom("fack")>;
/// `(ping_atom, t)` and its answer `(pong_atom, t)`: RTT and heartbeat.
using ping_atom = caf::atom_constant<caf::atom("fping")>;
using pong_atom = caf::atom_constant<caf::atom("fpong")>;

// -- inside one engine --------------------------------------------------------

/// federation -> itself: `(fed_tick_atom)` pings, heartbeats, drop reports.
using fed_tick_atom = caf::atom_constant<caf::atom("ftick")>;
/// federation -> itself: `(dial_atom, link)` dial a configured peer again.
using dial_atom = caf::atom_constant<caf::atom("fdial")>;
/// engine -> federation: `(local_atom, filters)` the local subscribers'
/// filters changed.
using local_atom = caf::atom_constant<caf::atom("flocal")>;

} // namespace ee::federation

namespace ee {

/// federation -> engine: `(fed_publish_atom, event_batch)` events from peers.
using fed_publish_atom = caf::atom_constant<caf::atom("fpublish")>;
/// federation -> engine: `(fed_taken_atom, n)` the federation took its `n`
/// oldest delivered events.
using fed_taken_atom = caf::atom_constant<caf::atom("ftaken")>;
/// federation -> engine: `(fed_filters_atom, filters)` what peers need.
using fed_filters_atom = caf::atom_constant<caf::atom("ffilters")>;
/// federation -> engine: `(fed_peer_atom, name, up)` a link came up or went
/// down.
using fed_peer_atom = caf::atom_constant<caf::atom("fpeer")>;

} // namespace ee
