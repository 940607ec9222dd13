#pragma once

// Opt-in header for writing plugins as raw CAF actors. Including it makes
// your code depend on CAF 0.17 (link caf_core); the rest of the API does not.

#include <caf/all.hpp>

#include "ee/context.hpp"
#include "ee/plugin.hpp"

namespace ee {

/// Tag of the messages that carry events to a raw CAF plugin:
/// `(ee::event_atom, ee::event)`.
using event_atom = caf::atom_constant<caf::atom("ee_event")>;

/// A plugin written as a raw CAF behavior. After the start barrier the engine
/// calls `make_behavior` once; the behavior then receives one
/// `(event_atom, event)` message per matching event, in order, plus any other
/// message sent to the actor (timers, requests from your own actors).
/// Publish with `ctx.publish`. Do not call `self->become`: return everything
/// from `make_behavior`. An exception escaping a handler fails the plugin as
/// for `ee::plugin`.
class caf_plugin : public plugin_base {
public:
  /// @param self the actor running this plugin (valid while it runs).
  /// @param ctx the plugin's context (valid while it runs).
  virtual caf::behavior make_behavior(caf::event_based_actor* self,
                                      context& ctx) = 0;

  /// Runs once when the plugin stops.
  virtual void on_stop(context& ctx);
};

} // namespace ee
