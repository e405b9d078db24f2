#pragma once

#include "session/retention.h"

#include <QDialog>

class QLabel;
class QPushButton;
class QSpinBox;
class QTimer;
class QTreeWidget;

namespace airlock::ui {

// The retention policy (keep N days / N sessions, stored in the database) with a live preview of
// what a clean-up would remove and how much it frees; "Clean Up Now" removes exactly what is listed.
// The same as airlockctl gc [--dry-run] [--keep-days N] [--keep-sessions N].
class RetentionDialog : public QDialog
{
    Q_OBJECT
public:
    explicit RetentionDialog(const QString &databasePath, QWidget *parent = nullptr);

    QSpinBox *keepDays() const { return m_days; }
    QSpinBox *keepSessions() const { return m_sessions; }
    QTreeWidget *preview() const { return m_preview; }
    // Saves the policy; false (with the message shown) when it could not be saved.
    bool save();
    // Saves, then removes what the preview lists.
    void cleanUpNow();
    bool busy() const { return m_busy; }

Q_SIGNALS:
    void previewReady(); // a preview, or why there is none, is shown
    void cleanedUp(const QString &summary);

private:
    session::RetentionPolicy policy() const;
    void schedulePreview();
    void updatePreview();
    void showPlan(const session::GcPlan &plan);
    void setBusy(bool busy);

    QString m_databasePath;
    QSpinBox *m_days;
    QSpinBox *m_sessions;
    QTreeWidget *m_preview;
    QLabel *m_summary;
    QLabel *m_error;
    QPushButton *m_cleanUp;
    QTimer *m_debounce;
    std::optional<session::GcPlan> m_plan;
    bool m_busy = false;
    int m_generation = 0;
};

} // namespace airlock::ui
