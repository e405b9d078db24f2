#pragma once

#include <QString>

namespace airlock::workspace {

// How long work hears about cancellation and reports progress. Implementations must be callable
// from any thread (a snapshot scans with several).
class JobControl
{
public:
    virtual ~JobControl() = default;
    virtual bool isCancelled() const = 0;
    // total 0 means "not known yet".
    virtual void progress(qint64 done, qint64 total, const QString &what) = 0;
};

} // namespace airlock::workspace
