// The time requests are signed with, corrected for a wrong local clock.
//
// SigV4 signatures carry the signer's time, and ECR refuses one more than 15
// minutes away from its own ("Signature expired", "Signature not yet
// current"). When an answer says so, the library takes the server's time
// from the answer's Date header, keeps the difference for the rest of the
// process, signs the request again and sends it once more; every later
// request of every client in the process is signed with the corrected time.
// docs/library.md ("Retries and clock skew") says which errors count.
#pragma once

#include <chrono>

namespace ecr {

// What the library has learned of this machine's clock: the server's time
// minus the local clock, zero until an answer showed a skew. Thread-safe.
std::chrono::milliseconds clock_correction() noexcept;

// The local clock plus clock_correction(): the best estimate of the time
// the service keeps, for comparing with times it hands out (an
// authorization token's expiresAt).
std::chrono::system_clock::time_point corrected_now();

}  // namespace ecr
