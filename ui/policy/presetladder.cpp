#include "presetladder.h"

#include "policy/presets.h"

#include <QButtonGroup>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>

namespace airlock::ui {

using ladder::Rung;
using ladder::Workload;

namespace {

QString shortTitle(Workload w)
{
    switch (w) {
    case Workload::ColdStart: return PresetLadder::tr("start");
    case Workload::WarmExec: return PresetLadder::tr("exec");
    case Workload::Files: return PresetLadder::tr("files");
    case Workload::Cpu: return PresetLadder::tr("CPU");
    }
    return {};
}

} // namespace

PresetLadder::PresetLadder(const QString &databasePath, QWidget *parent)
    : QWidget(parent), m_databasePath(databasePath), m_buttons(new QButtonGroup(this)),
      m_measure(new QPushButton(tr("&Measure"), this)), m_progress(new QProgressBar(this)), m_state(new QLabel(this))
{
    setObjectName(QStringLiteral("presetLadder"));
    auto *grid = new QGridLayout(this);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->setVerticalSpacing(0);
    grid->addWidget(new QLabel(tr("Start from a preset — least isolated"), this), 0, 0);
    const auto &presets = policy::presets();
    int column = 1;
    for (int i = 0; i < presets.size(); ++i) {
        if (i > 0)
            grid->addWidget(new QLabel(QStringLiteral("→"), this), 0, column++);
        auto *button = new QPushButton(presets.at(i).policy.name, this);
        button->setObjectName(QStringLiteral("preset_") + presets.at(i).id);
        button->setToolTip(presets.at(i).policy.description);
        button->setAccessibleName(tr("Use the %1 preset").arg(presets.at(i).policy.name));
        m_buttons->addButton(button, i);
        grid->addWidget(button, 0, column);
        auto *cost = new QLabel(this);
        cost->setObjectName(QStringLiteral("ladderCost_") + presets.at(i).id);
        cost->setAlignment(Qt::AlignHCenter | Qt::AlignTop);
        QFont small = cost->font();
        small.setPointSizeF(small.pointSizeF() * 0.85);
        cost->setFont(small);
        cost->setForegroundRole(QPalette::PlaceholderText);
        cost->setTextInteractionFlags(Qt::TextSelectableByMouse);
        grid->addWidget(cost, 1, column++);
        m_costs.append(cost);
    }
    grid->addWidget(new QLabel(tr("most isolated"), this), 0, column++);
    grid->setColumnStretch(column++, 1);

    m_measure->setObjectName(QStringLiteral("measureLadder"));
    m_measure->setToolTip(tr("Run the same workloads on the bare host and on each rung that runs here, and show "
                             "what each costs as a ratio to the host (about a minute with Docker and gVisor; Docker's first start may "
                             "take longer)."));
    m_progress->setObjectName(QStringLiteral("ladderProgress"));
    m_progress->setMaximumWidth(160);
    m_progress->setTextVisible(true);
    m_progress->hide();
    m_state->setObjectName(QStringLiteral("ladderState"));
    m_state->setForegroundRole(QPalette::PlaceholderText);
    grid->addWidget(m_state, 1, column, 1, 3, Qt::AlignRight);
    grid->addWidget(m_progress, 0, column++);
    grid->addWidget(m_measure, 0, column++);

    connect(m_buttons, &QButtonGroup::idClicked, this, &PresetLadder::presetChosen);
    connect(m_measure, &QPushButton::clicked, this, &PresetLadder::toggleMeasure);

    auto last = ladder::loadLadder(m_databasePath);
    if (!last)
        m_state->setText(tr("No measurement could be read: %1").arg(last.error().message));
    showResult(last ? *last : std::nullopt);
}

PresetLadder::~PresetLadder()
{
    delete m_bench.data(); // its sandboxes go with it
}

QString PresetLadder::costText(const QString &presetId) const
{
    const auto &presets = policy::presets();
    for (int i = 0; i < presets.size() && i < m_costs.size(); ++i)
        if (presets.at(i).id == presetId)
            return m_costs.at(i)->text();
    return {};
}

void PresetLadder::showResult(const std::optional<ladder::LadderResult> &result)
{
    m_result = result;
    const auto &presets = policy::presets();
    for (int i = 0; i < presets.size() && i < m_costs.size(); ++i) {
        QLabel *cost = m_costs.at(i);
        if (!result) {
            cost->setText(tr("not measured"));
            cost->setToolTip(tr("Press Measure to see what this rung costs on this machine."));
            continue;
        }
        const Rung rung = ladder::rungOf(presets.at(i).policy.runtime);
        const ladder::RungResult *r = result->rung(rung);
        if (!r || !r->skipped.isEmpty()) {
            cost->setText(r ? tr("could not run here") : tr("not measured"));
            cost->setToolTip(r ? r->skipped : tr("The last measurement left this rung out."));
            continue;
        }
        QStringList parts, details;
        for (Workload w : ladder::kAllWorkloads) {
            const auto ratio = result->ratio(rung, w);
            const auto ms = result->medianMs(rung, w);
            const auto host = result->medianMs(Rung::Host, w);
            if (ratio)
                parts << QStringLiteral("%1 %2").arg(shortTitle(w), ladder::formatRatio(*ratio));
            if (ms && host)
                details << tr("%1: %2 (host %3)").arg(ladder::workloadTitle(w), ladder::formatMs(*ms), ladder::formatMs(*host));
        }
        // Two short lines under the button: start-up costs, then steady-state costs.
        cost->setText(parts.mid(0, 2).join(QStringLiteral(" · ")) + u'\n' + parts.mid(2).join(QStringLiteral(" · ")));
        cost->setToolTip(tr("%1, measured %2 on %3\n%4\n(%5 files in the workspace; ratios to the bare host)")
                             .arg(ladder::rungTitle(rung), QLocale().toString(result->measured.toLocalTime(), QLocale::ShortFormat),
                                  result->machine, details.join(u'\n'))
                             .arg(result->files));
        cost->setAccessibleName(tr("Cost of the %1 preset: %2").arg(presets.at(i).policy.name, parts.join(QStringLiteral(", "))));
    }
    if (result && m_state->text().isEmpty())
        m_state->setText(tr("measured %1").arg(QLocale().toString(result->measured.toLocalTime(), QLocale::ShortFormat)));
}

void PresetLadder::toggleMeasure()
{
    if (m_bench) {
        m_state->setText(tr("Stopping and removing the benchmark's sandboxes…"));
        m_measure->setEnabled(false);
        m_bench->cancel();
        return;
    }
    auto *bench = new ladder::LadderBenchmark(m_options, this);
    m_bench = bench;
    m_measure->setText(tr("&Cancel"));
    m_progress->setValue(0);
    m_progress->show();
    connect(bench, &ladder::LadderBenchmark::progress, this, [this](int done, int total, const QString &what) {
        m_progress->setMaximum(total);
        m_progress->setValue(done);
        m_state->setText(what);
    });
    connect(bench, &ladder::LadderBenchmark::finished, this, [this](const ladder::LadderResult &result) {
        finishMeasure();
        if (auto saved = ladder::saveLadder(m_databasePath, result); !saved)
            m_state->setText(tr("Measured, but not kept: %1").arg(saved.error().message));
        else
            m_state->setText(tr("measured %1").arg(QLocale().toString(result.measured.toLocalTime(), QLocale::ShortFormat)));
        showResult(result);
        Q_EMIT measured(result);
    });
    connect(bench, &ladder::LadderBenchmark::canceled, this, [this] {
        finishMeasure();
        m_state->setText(m_result ? tr("Canceled; showing the earlier measurement.") : tr("Canceled."));
        Q_EMIT measureCanceled();
    });
    bench->start();
}

void PresetLadder::finishMeasure()
{
    if (m_bench)
        m_bench->deleteLater();
    m_bench = nullptr;
    m_measure->setText(tr("&Measure"));
    m_measure->setEnabled(true);
    m_progress->hide();
}

} // namespace airlock::ui
