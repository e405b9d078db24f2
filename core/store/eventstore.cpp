#include "eventstore.h"

#include "maintenance.h"
#include "schema.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QLoggingCategory>

#include <sqlite3.h>

#include <unordered_map>

Q_LOGGING_CATEGORY(lcStore, "airlock.store", QtWarningMsg)

namespace airlock::store {

namespace {
bool isIdChar(QChar c)
{
    return (c >= u'a' && c <= u'z') || (c >= u'A' && c <= u'Z') || (c >= u'0' && c <= u'9') || c == u'-'
        || c == u'_' || c == u'.';
}
} // namespace

bool isValidKind(QStringView kind)
{
    if (kind.isEmpty() || kind.size() > kMaxKindLength || kind.front() < u'a' || kind.front() > u'z')
        return false;
    QChar prev;
    for (QChar c : kind) {
        const bool ok = (c >= u'a' && c <= u'z') || (c >= u'0' && c <= u'9') || c == u'_'
            || (c == u'.' && prev != u'.');
        if (!ok)
            return false;
        prev = c;
    }
    return kind.back() != u'.';
}

bool isValidPolicyName(QStringView name)
{
    return isValidSessionId(name);
}

bool isValidSessionId(QStringView id)
{
    if (id.isEmpty() || id.size() > kMaxSessionIdLength)
        return false;
    return std::all_of(id.begin(), id.end(), isIdChar);
}

// Owns the writer thread's connection and its prepared statements.
class EventStore::Writer
{
public:
    explicit Writer(Connection db) : m_db(std::move(db)) {}

    Result<void> prepare()
    {
        auto insert = m_db.prepare("INSERT INTO events(session, kind, payload, time) VALUES (?1, ?2, ?3, ?4)");
        auto created = m_db.prepare(
            "INSERT OR IGNORE INTO sessions(id, title, agent, policy, workspace, parent, created, updated, "
            "first_seq, last_seq) VALUES (?1, coalesce(json_extract(?2, '$.title'), ''), "
            "json_extract(?2, '$.agent'), json_extract(?2, '$.policy'), json_extract(?2, '$.workspace'), "
            "(SELECT id FROM sessions WHERE id = json_extract(?2, '$.parent')), ?3, ?3, ?4, ?4)");
        auto state = m_db.prepare(
            "UPDATE sessions SET state = coalesce(json_extract(?2, '$.state'), state) WHERE id = ?1");
        auto renamed = m_db.prepare(
            "UPDATE sessions SET title = coalesce(json_extract(?2, '$.title'), title) WHERE id = ?1");
        // A policy's version is one more than its last; the document is stored as canonical JSON text.
        auto policy = m_db.prepare(
            "INSERT INTO policies(name, version, document, note, created) SELECT json_extract(?2, '$.name'), "
            "coalesce((SELECT max(version) FROM policies WHERE name = json_extract(?2, '$.name')), 0) + 1, "
            "json_extract(?2, '$.document'), coalesce(json_extract(?2, '$.note'), ''), ?3");
        auto requested = m_db.prepare(
            "INSERT OR IGNORE INTO approvals(session, request, requested_seq, requested_time, tool_call, options, "
            "rule, explanation) VALUES (?1, json_extract(?2, '$.request'), ?4, ?3, "
            "coalesce(json_extract(?2, '$.toolCall'), '{}'), coalesce(json_extract(?2, '$.options'), '[]'), "
            "coalesce(json_extract(?2, '$.rule'), ''), coalesce(json_extract(?2, '$.explanation'), ''))");
        auto answered = m_db.prepare(
            "UPDATE approvals SET answered_seq = ?4, answer = json_extract(?2, '$.optionId'), "
            "answered_by = coalesce(json_extract(?2, '$.by'), 'user') "
            "WHERE session = ?1 AND request = json_extract(?2, '$.request') AND answered_seq IS NULL "
            "AND decided_seq IS NULL");
        auto decided = m_db.prepare(
            "UPDATE approvals SET decided_seq = ?4, decision = coalesce(json_extract(?2, '$.decision'), 'cancelled'), "
            "decided_by = json_extract(?2, '$.by') WHERE session = ?1 AND request = json_extract(?2, '$.request') "
            "AND decided_seq IS NULL");
        auto touch = m_db.prepare("UPDATE sessions SET updated = max(updated, ?2), last_seq = ?3, "
                                  "event_count = event_count + ?4 WHERE id = ?1");
        for (auto *r : {&insert, &created, &state, &renamed, &policy, &requested, &answered, &decided, &touch})
            if (!*r)
                return std::unexpected(r->error());
        m_insert = std::move(*insert);
        m_created = std::move(*created);
        m_state = std::move(*state);
        m_renamed = std::move(*renamed);
        m_policy = std::move(*policy);
        m_requested = std::move(*requested);
        m_answered = std::move(*answered);
        m_decided = std::move(*decided);
        m_touch = std::move(*touch);
        return {};
    }

    // Writes the batch in one transaction; returns the seq of its last event.
    Result<qint64> write(const std::vector<Pending> &batch)
    {
        if (auto r = m_db.exec("BEGIN IMMEDIATE"); !r)
            return std::unexpected(r.error());
        auto result = writeRows(batch);
        if (result) {
            if (auto c = m_db.exec("COMMIT"); !c)
                result = std::unexpected(c.error());
        }
        if (!result)
            (void)m_db.exec("ROLLBACK");
        return result;
    }

private:
    struct Touch {
        qint64 time = 0;
        qint64 lastSeq = 0;
        qint64 count = 0;
    };

    Result<qint64> writeRows(const std::vector<Pending> &batch)
    {
        std::unordered_map<QString, Touch> touched;
        qint64 seq = 0;
        for (const Pending &e : batch) {
            m_insert.bind(1, e.session);
            m_insert.bind(2, e.kind);
            m_insert.bind(3, e.payload);
            m_insert.bind(4, e.time);
            if (auto r = m_insert.run(); !r)
                return std::unexpected(r.error());
            seq = sqlite3LastRowId();
            if (auto r = project(e, seq); !r)
                return std::unexpected(r.error());
            if (e.session.isNull())
                continue;
            Touch &t = touched[e.session];
            t.time = std::max(t.time, e.time);
            t.lastSeq = seq;
            ++t.count;
        }
        // One update per session per batch keeps the projection cheap under heavy logging.
        for (const auto &[id, t] : touched) {
            m_touch.bind(1, id);
            m_touch.bind(2, t.time);
            m_touch.bind(3, t.lastSeq);
            m_touch.bind(4, t.count);
            if (auto r = m_touch.run(); !r)
                return std::unexpected(r.error());
        }
        return seq;
    }

    Result<void> project(const Pending &e, qint64 seq)
    {
        Statement *stmt = nullptr;
        if (e.kind == QLatin1String(kinds::SessionCreated))
            stmt = &m_created;
        else if (e.kind == QLatin1String(kinds::SessionState))
            stmt = &m_state;
        else if (e.kind == QLatin1String(kinds::SessionRenamed))
            stmt = &m_renamed;
        else if (e.kind == QLatin1String(kinds::PolicySaved))
            stmt = &m_policy;
        else if (e.kind == QLatin1String(kinds::PermissionRequested))
            stmt = &m_requested;
        else if (e.kind == QLatin1String(kinds::ApprovalAnswered))
            stmt = &m_answered;
        else if (e.kind == QLatin1String(kinds::PermissionDecided))
            stmt = &m_decided;
        if (!stmt)
            return {};
        stmt->bind(1, e.session);
        stmt->bind(2, e.payload);
        if (stmt == &m_policy) {
            stmt->bind(3, e.time);
        } else if (stmt == &m_requested || stmt == &m_answered || stmt == &m_decided) {
            stmt->bind(3, e.time);
            stmt->bind(4, seq);
        } else if (stmt == &m_created) {
            stmt->bind(3, e.time);
            stmt->bind(4, seq);
        }
        return stmt->run();
    }

    qint64 sqlite3LastRowId() { return sqlite3_last_insert_rowid(m_db.handle()); }

    Connection m_db;
    Statement m_insert, m_created, m_state, m_renamed, m_policy, m_requested, m_answered, m_decided, m_touch;
};

Result<std::unique_ptr<EventStore>> EventStore::open(const QString &path)
{
    auto db = openDatabase(path);
    if (!db)
        return std::unexpected(db.error());
    auto writer = std::make_unique<Writer>(std::move(*db));
    if (auto r = writer->prepare(); !r)
        return std::unexpected(r.error());
    std::unique_ptr<EventStore> store(new EventStore);
    store->m_path = path;
    store->m_writer = std::move(writer);
    store->m_thread = std::thread([s = store.get()] { s->run(); });
    return store;
}

EventStore::~EventStore()
{
    (void)close(std::chrono::seconds(2));
}

Result<void> EventStore::close(std::chrono::milliseconds patience)
{
    {
        std::lock_guard lock(m_mutex);
        if (!m_stopping) {
            m_stopping = true;
            m_giveUpAt = std::chrono::steady_clock::now() + patience;
        }
    }
    m_wake.notify_all();
    if (m_thread.joinable())
        m_thread.join();
    std::lock_guard lock(m_mutex);
    if (m_lost == 0)
        return {};
    return fail(m_lostBecause ? m_lostBecause->code : ErrorCode::Storage,
                QStringLiteral("%1 events could not be written to %2 and are lost: %3")
                    .arg(m_lost)
                    .arg(m_path, m_lostBecause ? m_lostBecause->message : QString()));
}

Result<quint64> EventStore::append(const QString &session, const QString &kind, const QJsonObject &payload)
{
    if (!isValidKind(kind))
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("'%1' is not an event kind (lower-case words joined by dots, at most %2 "
                                   "characters)")
                        .arg(kind.left(80))
                        .arg(kMaxKindLength));
    if (!session.isEmpty() && !isValidSessionId(session))
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("'%1' is not a session id (letters, digits, '-', '_', '.', at most %2)")
                        .arg(session.left(80))
                        .arg(kMaxSessionIdLength));
    if (kind == QLatin1String(kSessionDeleted))
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("a session.deleted event is written only by deleting the session "
                                   "(airlockctl sessions rm)"));
    const bool approvalKind = kind == QLatin1String(kinds::PermissionRequested)
        || kind == QLatin1String(kinds::PermissionDecided) || kind == QLatin1String(kinds::ApprovalAnswered);
    if (approvalKind && (session.isEmpty() || payload.value(QStringLiteral("request")).toVariant().toString().isEmpty()))
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("a %1 event needs a session and a request id").arg(kind));
    if (kind == QLatin1String(kinds::PolicySaved)
        && (!isValidPolicyName(payload.value(QStringLiteral("name")).toString())
            || !payload.value(QStringLiteral("document")).isObject()))
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("a policy.saved event needs a policy name (letters, digits, '-', '_', "
                                   "'.', at most %1) and a document object")
                        .arg(kMaxSessionIdLength));
    QByteArray json = QJsonDocument(payload).toJson(QJsonDocument::Compact);
    if (json.size() > kMaxPayloadBytes)
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("the payload of a %1 event is %2 bytes; the limit is %3")
                        .arg(kind)
                        .arg(json.size())
                        .arg(kMaxPayloadBytes));
    Pending p{session.isEmpty() ? QString() : session, kind, std::move(json),
              QDateTime::currentMSecsSinceEpoch()};
    quint64 ticket;
    {
        std::lock_guard lock(m_mutex);
        if (m_stopping)
            return fail(ErrorCode::Cancelled, QStringLiteral("the store is closing"));
        // While the writer cannot write, events wait in memory, up to a bound; past it the caller
        // hears why, rather than the event vanishing.
        const qint64 bytes = p.payload.size();
        if (m_failing && m_pendingBytes + bytes > m_maxPendingBytes)
            return fail(m_failing->code,
                        QStringLiteral("a %1 event was refused: %2 events already wait in memory to be written "
                                       "to the database, and writing fails: %3")
                            .arg(kind)
                            .arg(m_queuedTicket - m_committedTicket)
                            .arg(m_failing->message));
        m_pendingBytes += bytes;
        m_queue.push_back(std::move(p));
        ticket = ++m_queuedTicket;
    }
    m_wake.notify_one();
    return ticket;
}

Result<void> EventStore::flush()
{
    std::unique_lock lock(m_mutex);
    const quint64 target = m_queuedTicket;
    m_lastError.reset();
    m_progress.wait(lock, [&] { return m_committedTicket >= target || m_lastError || m_writerDone; });
    if (m_committedTicket >= target)
        return {};
    if (!m_lastError)
        return fail(ErrorCode::Cancelled, QStringLiteral("the store is closed"));
    return std::unexpected(*m_lastError);
}

Result<void> EventStore::drain(std::chrono::milliseconds patience)
{
    std::unique_lock lock(m_mutex);
    const quint64 target = m_queuedTicket;
    m_progress.wait_for(lock, patience, [&] { return m_committedTicket >= target || m_writerDone; });
    if (m_committedTicket >= target)
        return {};
    const Error why = m_failing ? *m_failing
        : m_lastError           ? *m_lastError
                                : Error{ErrorCode::Busy, QStringLiteral("the writer is still busy")};
    return fail(why.code, QStringLiteral("%1 events are not yet written to %2: %3")
                              .arg(target - m_committedTicket)
                              .arg(m_path, why.message));
}

quint64 EventStore::pendingEvents() const
{
    std::lock_guard lock(m_mutex);
    return m_queuedTicket - m_committedTicket;
}

std::optional<Error> EventStore::writeError() const
{
    std::lock_guard lock(m_mutex);
    return m_failing;
}

void EventStore::setMaxPendingBytes(qint64 bytes)
{
    std::lock_guard lock(m_mutex);
    m_maxPendingBytes = std::max<qint64>(0, bytes);
}

quint64 EventStore::committedTicket() const
{
    std::lock_guard lock(m_mutex);
    return m_committedTicket;
}

quint64 EventStore::batchesCommitted() const
{
    std::lock_guard lock(m_mutex);
    return m_batches;
}

void EventStore::setMaxBatch(int events)
{
    std::lock_guard lock(m_mutex);
    m_maxBatch = size_t(std::max(1, events));
}

void EventStore::run()
{
    std::vector<Pending> batch;
    qint64 batchBytes = 0;
    auto backoff = std::chrono::milliseconds(50);
    for (;;) {
        {
            std::unique_lock lock(m_mutex);
            if (batch.empty()) {
                m_wake.wait(lock, [&] { return m_stopping || !m_queue.empty(); });
                if (m_queue.empty())
                    break; // stopping with nothing left to write
                const size_t n = std::min(m_queue.size(), m_maxBatch);
                batch.assign(std::make_move_iterator(m_queue.begin()),
                             std::make_move_iterator(m_queue.begin() + qsizetype(n)));
                m_queue.erase(m_queue.begin(), m_queue.begin() + qsizetype(n));
                batchBytes = 0;
                for (const Pending &p : batch)
                    batchBytes += p.payload.size();
            }
        }
        auto written = m_writer->write(batch);
        if (written) {
            quint64 ticket;
            bool resumed;
            {
                std::lock_guard lock(m_mutex);
                m_committedTicket += batch.size();
                m_pendingBytes -= batchBytes;
                ticket = m_committedTicket;
                ++m_batches;
                resumed = m_failing.has_value();
                m_failing.reset();
            }
            m_progress.notify_all();
            batch.clear();
            backoff = std::chrono::milliseconds(50);
            if (resumed) {
                qCInfo(lcStore) << "writing works again";
                Q_EMIT writeResumed();
            }
            Q_EMIT committed(ticket, *written);
            continue;
        }
        // The batch stays in hand and is tried again, and what arrives meanwhile stays queued: a busy
        // or full disk must not lose events.
        bool news, giveUp;
        quint64 waiting;
        std::chrono::steady_clock::time_point giveUpAt;
        {
            std::lock_guard lock(m_mutex);
            news = !m_failing || m_failing->message != written.error().message;
            m_failing = written.error();
            m_lastError = written.error();
            giveUp = m_stopping && std::chrono::steady_clock::now() >= m_giveUpAt;
            giveUpAt = m_giveUpAt;
            waiting = m_queuedTicket - m_committedTicket;
        }
        m_progress.notify_all();
        if (news) {
            qCWarning(lcStore) << "write failed," << waiting << "events wait in memory and are retried:"
                               << written.error().message;
            Q_EMIT writeFailed(written.error());
        }
        if (giveUp) {
            std::lock_guard lock(m_mutex);
            m_lost = batch.size() + m_queue.size();
            m_lostBecause = written.error();
            qCCritical(lcStore) << m_lost << "events could not be written to" << m_path
                                << "before closing and are lost:" << written.error().message;
            m_queue.clear();
            break;
        }
        std::unique_lock lock(m_mutex);
        const bool stoppingBefore = m_stopping;
        auto wait = backoff;
        if (m_stopping)
            wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(giveUpAt - std::chrono::steady_clock::now()));
        // A close() that starts meanwhile cuts the wait short, so its patience counts from now.
        m_wake.wait_for(lock, std::max(wait, std::chrono::milliseconds(0)), [&] { return m_stopping != stoppingBefore; });
        backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
    {
        std::lock_guard lock(m_mutex);
        m_writerDone = true;
    }
    m_progress.notify_all();
}

} // namespace airlock::store
