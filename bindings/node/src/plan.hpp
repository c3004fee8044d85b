// Client#plan: the Planner of the local client (talkgen_client_plan) as a plain JS object.
#pragma once

#include <napi.h>

#include "talkgen.h"

namespace talkgen_node {

/// plan(durationSec, {quality, resolution, budgetUsd, deadlineSec}) on `client`; throws the library's error.
Napi::Value plan_job(const Napi::CallbackInfo& info, const talkgen_client* client);

}  // namespace talkgen_node
