#include "src/core/backoff.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;

TEST(Backoff, GrowsByFactorAndCaps) {
  ee::backoff bo;
  bo.initial = 10ms;
  bo.max = 75ms;
  bo.factor = 2.0;
  auto d = ee::next_backoff(bo, 0ms, true);
  EXPECT_EQ(d, 10ms);
  d = ee::next_backoff(bo, d, false);
  EXPECT_EQ(d, 20ms);
  d = ee::next_backoff(bo, d, false);
  EXPECT_EQ(d, 40ms);
  d = ee::next_backoff(bo, d, false);
  EXPECT_EQ(d, 75ms);
  d = ee::next_backoff(bo, d, false);
  EXPECT_EQ(d, 75ms);
  // A healthy period starts over.
  EXPECT_EQ(ee::next_backoff(bo, d, true), 10ms);
}

TEST(Backoff, JitterStaysWithinItsSpread) {
  EXPECT_EQ(ee::with_jitter(100ms, 0.2, 0.0), 80ms);
  EXPECT_EQ(ee::with_jitter(100ms, 0.2, 0.5), 100ms);
  EXPECT_EQ(ee::with_jitter(100ms, 0.2, 0.999999), 119ms);
  EXPECT_EQ(ee::with_jitter(100ms, 0.0, 0.9), 100ms);
  EXPECT_EQ(ee::with_jitter(0ms, 0.5, 0.9), 0ms);
}
