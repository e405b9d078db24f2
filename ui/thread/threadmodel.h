#pragma once

#include "store/event.h"

#include <QAbstractListModel>
#include <QHash>
#include <QJsonObject>

namespace airlock::ui {

// One thing shown in a thread: a message, a thought, a tool call card, the plan, a permission
// request, or a notice (state changes, turn ends, errors). Built from events, see
// docs/session-events.md.
struct ThreadItem {
    enum Kind { UserMessage, AgentMessage, Thought, ToolCall, Plan, Permission, Notice };
    Kind kind = Notice;
    QString key;        // tool call id, permission request id; empty otherwise
    QString title;      // tool title, notice text, permission question
    QString text;       // message and thought text, accumulated from chunks
    QString toolKind;   // ACP tool kind
    QString status;     // tool: pending, in_progress, completed, failed; permission: pending, allow, deny
    QString detail;     // tool input/output, plan entries, permission options: plain text, bounded
    bool warning = false;
    bool expanded = false;
    qint64 firstSeq = 0, lastSeq = 0;
    qint64 startTime = 0, endTime = 0;

    // The painted height for a width, kept so that long threads lay out without measuring every row
    // again; any change to the item (lastSeq, expanded) invalidates it.
    mutable int cacheWidth = -1;
    mutable int cacheHeight = 0;
    mutable qint64 cacheSeq = -1;
    mutable bool cacheExpanded = false;
};

// A session's thread as a list. Events are folded in as they arrive: message chunks extend the last
// message, tool call updates change their card in place, plans replace the plan. Appending never
// re-reads or resets: new rows are inserted once per delivery and changed rows reported as one span.
class ThreadModel : public QAbstractListModel
{
    Q_OBJECT
public:
    enum Role {
        KindRole = Qt::UserRole + 1,
        TitleRole,
        TextRole,
        ToolKindRole,
        StatusRole,
        DetailRole,
        WarningRole,
        ExpandedRole,
        DurationRole, // ms, tool calls
        SeqRole,
    };

    explicit ThreadModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    bool setData(const QModelIndex &index, const QVariant &value, int role) override; // ExpandedRole
    Qt::ItemFlags flags(const QModelIndex &index) const override;

    const QString &session() const { return m_session; }
    void setSession(const QString &session);
    void setHistory(const QString &session, const QList<store::Event> &events);
    void append(const QString &session, const QList<store::Event> &events);

    const ThreadItem &item(int row) const { return m_items.at(row); }
    qint64 lastSeq() const { return m_lastSeq; }
    // The oldest event folded in (0: none); earlier ones are in the store, for ThreadView to page in.
    qint64 firstSeq() const { return m_firstSeq; }
    // "Agent silent for N s" while the newest event says the agent has gone quiet; empty otherwise.
    QString silence() const
    {
        return m_silenceRow >= 0 && m_silenceRow < m_items.size() ? m_items.at(m_silenceRow).title : QString();
    }

    // Text kept per item; longer text is cut with a note (the store keeps all of it).
    static constexpr qsizetype kMaxTextChars = 200000;
    static constexpr qsizetype kMaxDetailChars = 20000;

private:
    struct Batch;
    void fold(Batch &batch, const store::Event &e);
    void foldUpdate(Batch &batch, const store::Event &e, const QJsonObject &update);
    ThreadItem &at(Batch &batch, int row);
    int addItem(Batch &batch, ThreadItem item);
    void apply(Batch &batch);

    QString m_session;
    QList<ThreadItem> m_items;
    QHash<QString, int> m_toolRows;       // tool call id -> row
    QHash<QString, int> m_permissionRows; // request id -> row
    int m_planRow = -1;
    int m_openMessageRow = -1; // the message or thought that chunks still extend
    int m_silenceRow = -1;     // the "agent silent" notice that further reports update
    int m_logRow = -1;         // this turn's "agent log" notice, which gathers agent.log lines
    int m_logLines = 0;
    qint64 m_lastSeq = 0;
    qint64 m_firstSeq = 0;
};

} // namespace airlock::ui
