#pragma once

#include "store/event.h"
#include "store/storereader.h"

#include <functional>

#include <QWidget>

class QLabel;
class QListView;
class QPlainTextEdit;
class QPushButton;
class QStackedWidget;

namespace airlock::ui {

class ThreadModel;

// The central area: the selected session's thread — messages, thoughts, tool call cards, the plan,
// permission requests and notices — appended live as events arrive.
class ThreadView : public QWidget
{
    Q_OBJECT
public:
    explicit ThreadView(QWidget *parent = nullptr);

    ThreadModel *model() const { return m_model; }
    QListView *list() const { return m_list; }
    // Shows a session (nullptr: none selected).
    void showSession(const store::SessionRow *session);
    QString currentSession() const;
    // What the prompt box may do for the shown session: send (idle, run here), cancel (a turn runs).
    void setControls(bool canPrompt, bool canCancel, const QString &hint);
    QPlainTextEdit *promptBox() const { return m_prompt; }
    // Where older events come from: the window reads the store. Without it nothing pages back.
    using EventLoader = std::function<QList<store::Event>(const store::EventQuery &)>;
    void setEventLoader(EventLoader loader) { m_loader = std::move(loader); }
    // Folds in up to `count` events before the oldest shown, keeping the rows in view where they were.
    // The thread opens with the newest events only, so a long session opens fast.
    bool loadEarlier(int count = 2000);

Q_SIGNALS:
    void promptSubmitted(const QString &text);
    void cancelRequested();
    void demoRequested();

private:
    QStackedWidget *m_stack;
    QLabel *m_title;
    QLabel *m_subtitle;
    QListView *m_list;
    ThreadModel *m_model;
    QPlainTextEdit *m_prompt;
    QPushButton *m_send;
    QPushButton *m_cancel;
    QLabel *m_hint;
    QPushButton *m_earlier;
    EventLoader m_loader;
    qint64 m_sessionFirstSeq = 0;
    void updateEarlier();
};

} // namespace airlock::ui
