// "Did you mean …?" for names a user typed: scenario and manifest fields,
// kinds, CLI verbs and flags. closest_match() picks the candidate with the
// smallest edit distance (Damerau–Levenshtein with adjacent transpositions,
// case-insensitive), provided it is close enough to be a plausible typo:
// at most 1 edit for names of up to 4 characters, 2 up to 8, 3 beyond.
// Ties go to the earliest candidate, so the answer is deterministic.
// Pure functions; no state.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace meshsim::mesh {

// Edit distance (insert, delete, substitute, swap two adjacent characters),
// compared case-insensitively.
size_t edit_distance(std::string_view a, std::string_view b);

// The plausible correction of `typed` among `candidates`, or "" when none is
// close enough (or `typed` is itself a candidate).
std::string closest_match(std::string_view typed, const std::vector<std::string_view>& candidates);
std::string closest_match(std::string_view typed, const std::vector<std::string>& candidates);

// " (did you mean \"X\"?)" for closest_match, or "" — ready to append to a message.
std::string did_you_mean(std::string_view typed, const std::vector<std::string_view>& candidates);
std::string did_you_mean(std::string_view typed, const std::vector<std::string>& candidates);

}  // namespace meshsim::mesh
