#pragma once

// The state the copies of one RpcResponder share (internal to core/agent).
#include "jsonrpcconnection.h"

#include <QPointer>

namespace airlock::agent {

struct RpcResponder::State {
    QPointer<JsonRpcConnection> connection;
    RpcId id;
    QString key;
    QString method;
    bool answered = false;
    bool cancelled = false;
    std::function<void()> onCancelled;

    // An answer for a request nobody answered: the peer must never wait forever.
    ~State();
};

} // namespace airlock::agent
