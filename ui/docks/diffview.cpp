#include "diffview.h"

#include "docktext.h"

#include <QEvent>
#include <QFontDatabase>
#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QSplitter>
#include <QTextBlock>
#include <QTextCursor>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace airlock::ui {

namespace {
constexpr int kMaxLines = 20000; // a longer patch is cut here; the file list still has the counts

enum FileColumn { PathColumn, StatusColumn, AddedColumn, RemovedColumn };
} // namespace

DiffView::DiffView(QWidget *parent)
    : QWidget(parent), m_summary(new QLabel(this)), m_files(new QTreeWidget(this)), m_patch(new QPlainTextEdit(this))
{
    m_summary->setObjectName(QStringLiteral("diffSummary"));
    m_summary->setTextFormat(Qt::PlainText);
    m_summary->setWordWrap(true);
    m_files->setObjectName(QStringLiteral("diffFiles"));
    m_files->setAccessibleName(tr("Changed files"));
    m_files->setHeaderLabels({tr("File"), tr("Status"), tr("+"), tr("−")});
    m_files->setRootIsDecorated(false);
    m_files->setUniformRowHeights(true);
    m_files->header()->setStretchLastSection(false);
    m_files->header()->setSectionResizeMode(PathColumn, QHeaderView::Stretch);
    for (int c : {StatusColumn, AddedColumn, RemovedColumn})
        m_files->header()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    m_patch->setObjectName(QStringLiteral("diffPatch"));
    m_patch->setAccessibleName(tr("Unified diff"));
    m_patch->setReadOnly(true);
    m_patch->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_patch->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_patch->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);

    auto *split = new QSplitter(Qt::Horizontal, this);
    split->setChildrenCollapsible(false);
    split->addWidget(m_files);
    split->addWidget(m_patch);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 5);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_summary);
    layout->addWidget(split, 1);

    connect(m_files, &QTreeWidget::currentItemChanged, this, [this](QTreeWidgetItem *item) {
        showFile(item ? m_files->indexOfTopLevelItem(item) : -1);
    });
    setMessage(QString());
}

void DiffView::setMessage(const QString &text)
{
    m_diff.clear();
    m_shown = -1;
    m_files->clear();
    m_patch->clear();
    m_summary->setText(text);
    m_summary->setVisible(!text.isEmpty());
}

void DiffView::setFiles(const QList<workspace::FileDiff> &files, const QString &summary)
{
    m_diff = files;
    m_shown = -1;
    m_files->clear();
    m_patch->clear();
    m_summary->setText(summary);
    m_summary->setVisible(!summary.isEmpty());
    const QColor added = docks::mix(palette().color(QPalette::Text), QColor(0x2d, 0xa4, 0x4e), 0.75);
    const QColor removed = docks::mix(palette().color(QPalette::Text), QColor(0xe0, 0x35, 0x35), 0.75);
    QList<QTreeWidgetItem *> items;
    for (const workspace::FileDiff &f : files) {
        const workspace::FileChange &c = f.change;
        auto *item = new QTreeWidgetItem;
        item->setText(PathColumn, c.oldPath.isEmpty() ? c.path : QStringLiteral("%1 → %2").arg(c.oldPath, c.path));
        item->setToolTip(PathColumn, item->text(PathColumn));
        item->setText(StatusColumn, workspace::nameOf(c.status));
        if (c.binary) {
            item->setText(AddedColumn, tr("binary"));
        } else {
            item->setText(AddedColumn, QStringLiteral("+%1").arg(c.added));
            item->setText(RemovedColumn, QStringLiteral("−%1").arg(c.removed));
            item->setForeground(AddedColumn, added);
            item->setForeground(RemovedColumn, removed);
        }
        item->setTextAlignment(AddedColumn, Qt::AlignRight | Qt::AlignVCenter);
        item->setTextAlignment(RemovedColumn, Qt::AlignRight | Qt::AlignVCenter);
        items.append(item);
    }
    m_files->addTopLevelItems(items);
    if (!items.isEmpty())
        m_files->setCurrentItem(items.first());
}

void DiffView::changeEvent(QEvent *event)
{
    QWidget::changeEvent(event);
    if ((event->type() == QEvent::PaletteChange || event->type() == QEvent::ApplicationPaletteChange) && m_shown >= 0) {
        const int shown = m_shown;
        m_shown = -1;
        showFile(shown);
    }
}

void DiffView::showFile(int index)
{
    if (index == m_shown)
        return;
    m_shown = index;
    m_patch->clear();
    if (index < 0 || index >= m_diff.size())
        return;
    const workspace::FileDiff &f = m_diff.at(index);
    if (f.patch.isEmpty()) {
        m_patch->setPlainText(f.change.binary ? tr("Binary file; no text diff.") : tr("No text changes (mode or type only)."));
        return;
    }
    const QPalette &p = palette();
    const QColor base = p.color(QPalette::Base);
    const QColor text = p.color(QPalette::Text);
    QTextBlockFormat plain, added, removed, hunk;
    added.setBackground(docks::mix(base, QColor(0x2d, 0xa4, 0x4e), 0.22));
    removed.setBackground(docks::mix(base, QColor(0xe0, 0x35, 0x35), 0.22));
    hunk.setBackground(docks::mix(base, QColor(0x3b, 0x82, 0xf6), 0.14));
    QTextCharFormat normal, header, hunkText;
    normal.setForeground(text);
    header.setForeground(text);
    header.setFontWeight(QFont::Bold);
    hunkText.setForeground(docks::mix(text, QColor(0x3b, 0x82, 0xf6), 0.55));

    QTextDocument *doc = m_patch->document();
    QTextCursor cursor(doc);
    cursor.beginEditBlock();
    const QStringList lines = f.patch.split(u'\n');
    bool inHunk = false;
    int count = 0;
    for (const QString &line : lines) {
        if (count == lines.size() - 1 && line.isEmpty())
            break; // the patch's final newline
        if (count++ >= kMaxLines) {
            cursor.insertBlock(plain, normal);
            cursor.insertText(tr("… %1 more lines not shown").arg(lines.size() - kMaxLines));
            break;
        }
        QTextBlockFormat block = plain;
        QTextCharFormat chars = normal;
        if (line.startsWith(QLatin1String("@@"))) {
            inHunk = true;
            block = hunk;
            chars = hunkText;
        } else if (!inHunk) {
            chars = header;
        } else if (line.startsWith(u'+')) {
            block = added;
        } else if (line.startsWith(u'-')) {
            block = removed;
        }
        if (count == 1) {
            cursor.setBlockFormat(block);
            cursor.setCharFormat(chars);
        } else {
            cursor.insertBlock(block, chars);
        }
        cursor.insertText(line, chars);
    }
    if (f.patchTruncated) {
        cursor.insertBlock(plain, normal);
        cursor.insertText(tr("… (shortened)"));
    }
    cursor.endEditBlock();
    m_patch->moveCursor(QTextCursor::Start);
}

} // namespace airlock::ui
