#pragma once

#include "ladder/ladder.h"

#include <QPointer>
#include <QWidget>

class QButtonGroup;
class QLabel;
class QProgressBar;
class QPushButton;

namespace airlock::ui {

// The presets from least to most isolated, each with what its rung costs on this machine (measured by
// the ladder benchmark, as ratios to the bare host), and a Measure button that runs the benchmark with
// progress and cancel and keeps the result in the store.
class PresetLadder : public QWidget
{
    Q_OBJECT
public:
    PresetLadder(const QString &databasePath, QWidget *parent = nullptr);
    ~PresetLadder() override;

    // What Measure runs (tests pick rungs and rounds).
    void setOptions(const ladder::LadderOptions &options) { m_options = options; }
    bool isMeasuring() const { return m_bench != nullptr; }
    // Starts measuring, or cancels what runs.
    void toggleMeasure();
    // The cost line shown under a preset's button.
    QString costText(const QString &presetId) const;
    const std::optional<ladder::LadderResult> &result() const { return m_result; }

Q_SIGNALS:
    void presetChosen(int index); // in policy::presets() order
    void measured(const airlock::ladder::LadderResult &result);
    void measureCanceled();

private:
    void showResult(const std::optional<ladder::LadderResult> &result);
    void finishMeasure();

    QString m_databasePath;
    ladder::LadderOptions m_options;
    std::optional<ladder::LadderResult> m_result;
    QButtonGroup *m_buttons;
    QList<QLabel *> m_costs; // by preset
    QPushButton *m_measure;
    QProgressBar *m_progress;
    QLabel *m_state;
    QPointer<ladder::LadderBenchmark> m_bench;
};

} // namespace airlock::ui
