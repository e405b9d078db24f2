#include "docker/attachstream.h"

#include "docker/dockerclient.h"

namespace airlock::docker {

AttachStream::AttachStream(DockerClient *client, QString container, QObject *parent)
    : QObject(parent), m_client(client), m_container(std::move(container))
{
}

AttachStream::~AttachStream()
{
    close();
}

void AttachStream::open()
{
    if (!m_client || m_call != 0)
        return;
    HttpRequest r;
    r.method = "POST";
    r.path = "/containers/" + DockerClient::percentEncode(m_container) + "/attach?stream=1&stdin=1&stdout=1&stderr=1";
    r.timeoutMs = 0; // as long as the container lives
    HttpHandlers handlers;
    handlers.onUpgraded = [this](QByteArrayView first) {
        m_open = true;
        if (!m_pending.isEmpty())
            m_client->writeRaw(m_call, std::exchange(m_pending, {}));
        Q_EMIT opened();
        feed(first);
    };
    handlers.onData = [this](QByteArrayView bytes) {
        if (m_open)
            feed(bytes);
    };
    handlers.onDone = [this](const Result<HttpResponse> &result) {
        m_call = 0;
        if (!result)
            end(result.error());
        else if (!m_open)
            end(DockerClient::apiError(*result, QStringLiteral("attach to container %1").arg(m_container.left(12))));
        else if (auto finished = m_decoder.finish(); !finished)
            end(finished.error());
        else
            end(Error{ErrorCode::Io, QStringLiteral("the attach stream of container %1 closed").arg(m_container.left(12))});
    };
    m_call = m_client->send(r, this, std::move(handlers));
}

void AttachStream::write(QByteArrayView bytes)
{
    if (m_ended || bytes.isEmpty())
        return;
    if (!m_open || !m_client || !m_client->writeRaw(m_call, bytes))
        m_pending.append(bytes.data(), bytes.size());
}

void AttachStream::close()
{
    m_ended = true;
    if (m_client && m_call != 0)
        m_client->cancel(std::exchange(m_call, 0));
}

void AttachStream::feed(QByteArrayView bytes)
{
    m_decoder.feed(bytes);
    while (!m_ended) {
        auto frame = m_decoder.next();
        if (!frame) {
            end(frame.error());
            if (m_client && m_call != 0)
                m_client->cancel(std::exchange(m_call, 0));
            return;
        }
        if (!*frame)
            return;
        if ((*frame)->stream == StreamKind::Stderr)
            Q_EMIT stderrReceived((*frame)->data);
        else
            Q_EMIT stdoutReceived((*frame)->data);
    }
}

void AttachStream::end(const Error &why)
{
    if (m_ended)
        return;
    m_ended = true;
    m_open = false;
    Q_EMIT closed(why);
}

} // namespace airlock::docker
