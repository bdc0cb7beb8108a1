#include "gui/run_loader.hpp"

#include <QElapsedTimer>
#include <QtConcurrent/QtConcurrentRun>

#include "core/errors.hpp"

namespace dmlsim::gui {
namespace {

// The worker: reads one run. Touches nothing but the file and its own result.
RunLoader::Result load_one(const QString& path, const RunLoader::WorkerHook& hook) {
  RunLoader::Result result;
  try {
    if (hook) hook(path);
    QElapsedTimer clock;
    clock.start();
    result.run = RunModel::load(path.toStdString());
    result.seconds = static_cast<double>(clock.elapsed()) / 1000.0;
  } catch (const core::ConfigError& e) {
    // The reader's message starts with the file and says what is wrong with it.
    result.error = QString::fromUtf8(e.what());
  } catch (const std::exception& e) {
    result.error = QStringLiteral("%1: %2").arg(path, QString::fromUtf8(e.what()));
  } catch (...) {
    result.error = QStringLiteral("%1: unknown error").arg(path);
  }
  return result;
}

}  // namespace

RunLoader::RunLoader(Sink sink, QObject* parent) : QObject(parent), sink_(std::move(sink)) {
  connect(&watcher_, &QFutureWatcher<Result>::finished, this, &RunLoader::finish_current);
}

RunLoader::~RunLoader() {
  watcher_.disconnect(this);
  // Only the front of the queue has a future, and it is not taken yet (a taken one reads as never
  // finished: waiting on it would hang).
  if (queue_.empty()) return;
  queue_.clear();
  // A load not started yet is skipped; a running one cannot be interrupted, so wait for it rather
  // than let it outlive the window (its result is then freed with the future).
  watcher_.cancel();
  watcher_.waitForFinished();
}

void RunLoader::load(const QStringList& paths) {
  if (paths.isEmpty()) return;
  const bool was_idle = queue_.empty();
  for (const QString& path : paths) queue_.push_back({path, false});
  queue_.back().ends_batch = true;
  if (was_idle) start_next();
  emit state_changed();
}

void RunLoader::start_next() {
  watcher_.setFuture(QtConcurrent::run(load_one, queue_.front().path, hook_));
}

void RunLoader::finish_current() {
  Result result = watcher_.future().takeResult();
  const Job job = queue_.front();
  queue_.pop_front();
  // Keep the worker busy while this run is added to the timeline.
  if (!queue_.empty()) start_next();
  if (result.run) {
    ++opened_;
    sink_(std::move(result.run), job.path, result.seconds);
  } else {
    errors_ << result.error;
  }
  emit state_changed();  // first: whoever hears batch_finished sees the loader as it now is
  if (job.ends_batch) {
    const int opened = opened_;
    const QStringList errors = errors_;
    opened_ = 0;
    errors_.clear();
    emit batch_finished(opened, errors);
  }
}

}  // namespace dmlsim::gui
