// Per-environment state of the addon (node can load it in several worker threads).
#pragma once

#include <napi.h>

namespace talkgen_node {

struct AddonData {
  Napi::FunctionReference job_class;  ///< NativeJob, made by Client#submit
};

}  // namespace talkgen_node
