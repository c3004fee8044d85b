// Catch2 for the model_text tests, with every macro prefixed (CATCH_TEST_CASE, CATCH_CHECK, ...).
// libtorch's c10 logging header defines a CHECK(condition) of its own, so an unprefixed CHECK meant
// Catch's or c10's depending on include order: with the precompiled header on, torch came first and Catch's
// definition won; without it, a test including a torch header after Catch got c10's CHECK, which aborts
// instead of reporting. The prefixed names collide with nothing, whatever is included and in which order.
#pragma once

#if defined(TWOBLUECUBES_SINGLE_INCLUDE_CATCH_HPP_INCLUDED) && !defined(CATCH_CONFIG_PREFIX_ALL)
#error "catch.hpp was included before catch_prefixed.hpp: include only catch_prefixed.hpp in tests/model_text"
#endif
#define CATCH_CONFIG_PREFIX_ALL
#include <catch2/catch.hpp>
