// The policy codec: the input is a policy document (JSON, any schema version).
//
// Properties, for every document that decodes: the value passes validatePolicy(); its canonical
// text decodes again to an equal policy, whose canonical text is the same bytes; equal policies hash
// equal.
#include "fuzzinput.h"

#include "policy/codec.h"

using namespace airlock;
using namespace airlock::policy;

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fuzz::initQt();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const QByteArray json(reinterpret_cast<const char *>(data), qsizetype(size));
    auto decoded = decodePolicy(json);
    if (!decoded) {
        AIRLOCK_FUZZ_CHECK(!decoded.error().isEmpty());
        (void)formatIssues(decoded.error());
        return 0;
    }
    AIRLOCK_FUZZ_CHECK(validatePolicy(*decoded).isEmpty());
    const QByteArray canonical = serializePolicy(*decoded);
    auto again = decodePolicy(canonical);
    if (!again) {
        std::fprintf(stderr, "the canonical text does not decode:\n%s\n%s\n", canonical.constData(),
                     qPrintable(formatIssues(again.error())));
        std::abort();
    }
    AIRLOCK_FUZZ_CHECK(*again == *decoded);
    AIRLOCK_FUZZ_CHECK(serializePolicy(*again) == canonical);
    AIRLOCK_FUZZ_CHECK(policyHash(*again) == policyHash(*decoded));
    return 0;
}
