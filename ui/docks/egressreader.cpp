#include "egressreader.h"

#include "egress/egresslog.h"

#include <QTimer>

#include <optional>

namespace airlock::ui {

class EgressReader::Worker : public QObject
{
    Q_OBJECT
public:
    explicit Worker(QString path) : m_path(std::move(path)) {}

    void start(int backlog, int pollMs)
    {
        auto log = egress::EgressLog::open(m_path);
        if (!log) {
            Q_EMIT failed(log.error().message);
            return;
        }
        m_log.emplace(std::move(*log));
        // The high-water mark first, so nothing committed between the two reads is lost.
        auto last = m_log->lastSeq();
        auto past = m_log->recent(QString(), backlog);
        if (!last || !past) {
            Q_EMIT failed(!last ? last.error().message : past.error().message);
            return;
        }
        m_seq = *last;
        for (const store::Event &e : std::as_const(*past))
            m_seq = std::max(m_seq, e.seq);
        Q_EMIT history(*past);
        m_timer = new QTimer(this);
        connect(m_timer, &QTimer::timeout, this, &Worker::poll);
        m_timer->start(pollMs);
    }

    void poll()
    {
        if (!m_log)
            return;
        auto version = m_log->dataVersion();
        if (!version) {
            Q_EMIT failed(version.error().message);
            return;
        }
        if (*version == m_dataVersion)
            return;
        m_dataVersion = *version;
        while (true) {
            auto events = m_log->after(m_seq, QString());
            if (!events) {
                Q_EMIT failed(events.error().message);
                return;
            }
            if (!events->isEmpty()) {
                m_seq = events->constLast().seq;
                Q_EMIT appended(*events);
            }
            if (events->size() < 1000)
                break;
        }
    }

Q_SIGNALS:
    void history(const QList<airlock::store::Event> &events);
    void appended(const QList<airlock::store::Event> &events);
    void failed(const QString &message);

private:
    QString m_path;
    std::optional<egress::EgressLog> m_log;
    QTimer *m_timer = nullptr;
    qint64 m_seq = 0;
    qint64 m_dataVersion = -1;
};

EgressReader::EgressReader(const QString &databasePath, QObject *parent)
    : QObject(parent), m_worker(new Worker(databasePath))
{
    qRegisterMetaType<QList<store::Event>>();
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    connect(m_worker, &Worker::history, this, &EgressReader::history);
    connect(m_worker, &Worker::appended, this, &EgressReader::appended);
    connect(m_worker, &Worker::failed, this, &EgressReader::failed);
    m_thread.setObjectName(QStringLiteral("egress-reader"));
    m_thread.start();
}

EgressReader::~EgressReader()
{
    m_thread.quit();
    m_thread.wait();
}

void EgressReader::start(int backlog, int pollMs)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, backlog, pollMs] { w->start(backlog, pollMs); });
}

void EgressReader::poke()
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker] { w->poll(); });
}

} // namespace airlock::ui

#include "egressreader.moc"
