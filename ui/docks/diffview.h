#pragma once

#include "workspace/changes.h"

#include <QWidget>

class QLabel;
class QPlainTextEdit;
class QTreeWidget;

namespace airlock::ui {

// What a diff between two checkpoints changed: the files (status, +/- lines) on the left, the
// selected file's unified diff on the right, added and removed lines coloured from the palette so
// both themes read well.
class DiffView : public QWidget
{
    Q_OBJECT
public:
    explicit DiffView(QWidget *parent = nullptr);

    void setFiles(const QList<workspace::FileDiff> &files, const QString &summary);
    // An explanation in place of a diff ("loading…", "select a checkpoint").
    void setMessage(const QString &text);
    void clear() { setMessage(QString()); }

    QTreeWidget *fileList() const { return m_files; }
    QPlainTextEdit *patchView() const { return m_patch; }
    int fileCount() const { return int(m_diff.size()); }

protected:
    void changeEvent(QEvent *event) override;

private:
    void showFile(int index);

    QList<workspace::FileDiff> m_diff;
    QLabel *m_summary;
    QTreeWidget *m_files;
    QPlainTextEdit *m_patch;
    int m_shown = -1;
};

} // namespace airlock::ui
