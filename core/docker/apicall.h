#pragma once

#include "docker/dockerclient.h"

#include <QPromise>

#include <memory>

// Small pieces the typed Engine API calls share (dockerapi.cpp, dockervolumeapi.cpp). Internal.

namespace airlock::docker::detail {

template<typename T>
std::shared_ptr<QPromise<Result<T>>> startedPromise()
{
    auto promise = std::make_shared<QPromise<Result<T>>>();
    promise->start();
    return promise;
}

template<typename T>
void settle(QPromise<Result<T>> &promise, Result<T> value)
{
    promise.addResult(std::move(value));
    promise.finish();
}

inline HttpRequest request(const char *method, const QByteArray &path, int timeoutMs = 60000)
{
    HttpRequest r;
    r.method = method;
    r.path = path;
    r.timeoutMs = timeoutMs;
    return r;
}

} // namespace airlock::docker::detail
