// Every string of the interface, one dictionary per language. Russian is the default.
// t("key", {name: value}) fills {name} placeholders; missing keys fall back to Russian, then the key.

const ru = {
  "skip": "Перейти к содержимому",
  "nav.label": "Разделы",
  "nav.tasks": "Задачи",
  "nav.settings": "Настройки",
  "lang.label": "Язык интерфейса",
  "theme.dark": "Тёмная тема",
  "common.refresh": "Обновить",
  "common.cancel": "Отмена",
  "common.close": "Закрыть",
  "common.copy": "Копировать",
  "common.copied": "Скопировано",
  "common.copyFailed": "Не удалось скопировать: выделите текст и нажмите Ctrl+C.",
  "common.delete": "Удалить",
  "common.yes": "да",
  "common.no": "нет",

  "health.connecting": "Подключение…",
  "health.offline": "Сервис недоступен",
  "health.noWorker": "Обработчик не запущен",
  "health.ready": "Сервис готов",
  "health.notReady": "Модель не загружена",
  "health.queue": "очередь: {count}",
  "health.fallback": "⚠ запасные настройки модели",
  "health.title": "Версия {version}. Модель: {model}, устройство: {device}, вычисления: {compute}.",
  "worker.starting": "запускается",
  "worker.idle": "готов",
  "worker.busy": "работает",
  "worker.loading": "загружает модель",
  "worker.error": "ошибка",
  "worker.stopped": "остановлен",
  "worker.unresponsive": "не отвечает",

  "live.live": "Обновляется в реальном времени",
  "live.polling": "Обновляется раз в 2 секунды",
  "live.offline": "Нет связи с сервисом",
  "live.connecting": "Подключение…",

  "upload.title": "Новая расшифровка",
  "upload.drop": "Перетащите сюда аудио- или видеофайлы",
  "upload.pick": "Выбрать файлы",
  "upload.formats": "MP3, WAV, M4A, FLAC, OGG, OPUS, WEBM, WMA, AMR, а также видео MP4, MKV, MOV, AVI",
  "upload.autoCreate": "Сразу ставить задачу в очередь",
  "upload.listLabel": "Загрузка файлов",
  "upload.queued": "Ожидает загрузки",
  "upload.progress": "{loaded} из {total} · {percent}%",
  "upload.processing": "Проверка файла…",
  "upload.done": "Загружен",
  "upload.taskCreated": "Задача поставлена в очередь",
  "upload.rejected": "Файл не принят: {detail}",
  "upload.failed": "Не удалось загрузить: {detail}",
  "upload.cancelled": "Загрузка отменена",
  "upload.cancel": "Отменить загрузку",
  "upload.cancelNamed": "Отменить загрузку {name}",
  "upload.dismiss": "Убрать из списка",
  "upload.dismissNamed": "Убрать {name} из списка",
  "upload.progressLabel": "Загрузка {name}",
  "upload.createTask": "Создать задачу",

  "options.title": "Параметры задачи",
  "options.hint": "Пустое поле — значение из общих настроек.",
  "options.language": "Язык",
  "options.model": "Модель",
  "options.task": "Режим",
  "options.beam": "Ширина луча",
  "options.prompt": "Подсказка (имена, термины)",
  "options.asGlobal": "Как в настройках",
  "options.globalValue": "как в настройках: {value}",
  "options.auto": "автоопределение",
  "options.transcribe": "Расшифровка",
  "options.translate": "Перевод на английский",
  "options.multilingual": "Несколько языков в записи",
  "options.multilingualOn": "Да: язык каждого окна",
  "options.multilingualOff": "Нет: один язык на файл",

  "files.title": "Загруженные файлы",
  "files.empty": "Файлов пока нет.",
  "files.createTask": "Создать задачу",
  "files.createTaskNamed": "Создать задачу для {name}",
  "files.deleteNamed": "Удалить файл {name}",
  "files.deleteTitle": "Удалить файл?",
  "files.deleteMessage": "Файл «{name}» будет удалён с сервера.",
  "files.deleted": "Файл удалён",

  "tasks.title": "Список задач",
  "tasks.filter": "Фильтр по статусу",
  "tasks.empty": "Задач нет.",
  "tasks.emptyFiltered": "Нет задач с таким статусом.",
  "tasks.more": "Показаны {shown} из {total}.",
  "tasks.created": "Задача создана: {id}",
  "tasks.copyId": "Копировать ID задачи",
  "tasks.queue": "№ {position} в очереди",
  "tasks.eta": "осталось ≈ {eta}",
  "tasks.open": "Открыть",
  "tasks.openNamed": "Открыть расшифровку {name}",
  "tasks.cancel": "Отменить",
  "tasks.cancelNamed": "Отменить задачу {name}",
  "tasks.deleteNamed": "Удалить задачу {name}",
  "tasks.deleteTitle": "Удалить задачу?",
  "tasks.deleteMessage": "Задача «{name}» и её расшифровка будут удалены. Загруженный файл останется.",
  "tasks.deleted": "Задача удалена",
  "tasks.cancelled": "Задача отменена",
  "tasks.progressLabel": "Ход расшифровки {name}",
  "tasks.exports": "Скачать {name}",
  "tasks.statusChanged": "{name}: {status}",
  "tasks.options": "параметры: {options}",

  "filter.all": "Все",
  "filter.PENDING": "В очереди",
  "filter.IN_PROGRESS": "Выполняются",
  "filter.COMPLETED": "Готовые",
  "filter.FAILED": "С ошибкой",
  "filter.CANCELLED": "Отменённые",
  "status.PENDING": "В очереди",
  "status.IN_PROGRESS": "Выполняется",
  "status.COMPLETED": "Готово",
  "status.FAILED": "Ошибка",
  "status.CANCELLED": "Отменена",

  "tx.back": "← К списку задач",
  "tx.search": "Поиск по тексту",
  "tx.copy": "Копировать весь текст",
  "tx.copied": "Текст скопирован",
  "tx.help": "Нажмите на фразу (или Enter на ней), чтобы прослушать её.",
  "tx.phrases": "Фразы",
  "tx.matches": "Найдено: {count} из {total}",
  "tx.noPhrases": "Речь в записи не найдена.",
  "tx.notReady": "Расшифровка ещё не готова: {status}. Страница обновится сама.",
  "tx.failed": "Расшифровка не удалась: {error}",
  "tx.undecodable":
    "Внимание: {seconds} с записи не удалось декодировать (файл в этих местах повреждён), они пропущены — в расшифровке есть пропуски.",
  "tx.cancelled": "Задача отменена, расшифровки нет.",
  "tx.language": "язык: {language}",
  "tx.phraseLanguage": "язык фразы: {language}",
  "tx.duration": "длительность: {duration}",
  "tx.playFrom": "Прослушать с {time}",
  "tx.download": "Скачать:",
  "tx.notFound": "Задача не найдена: {detail}",

  "settings.title": "Настройки распознавания",
  "settings.intro": "Применяются ко всем новым задачам и хранятся в базе. Смена модели, устройства или типа вычислений перезагружает модель перед следующей задачей.",
  "settings.save": "Сохранить и применить",
  "settings.revert": "Отменить изменения",
  "settings.default": "По умолчанию: {value}",
  "settings.empty": "пусто",
  "settings.changed": "изменено",
  "settings.useDefault": "Вернуть",
  "settings.useDefaultNamed": "Вернуть значение по умолчанию для {name}",
  "settings.noChanges": "Изменений нет.",
  "settings.saving": "Сохранение…",
  "settings.saved": "Сохранено.",
  "settings.savedReload": "Сохранено. Модель перезагрузится перед следующей задачей.",
  "settings.invalid": "Исправьте отмеченное поле.",
  "settings.loadFailed": "Не удалось загрузить настройки: {detail}",
  "settings.fallback": "Сохранённые модель, устройство или тип вычислений не загружаются, поэтому задачи выполняются с моделью {model} ({device}, {compute}). Исправьте или верните настройку. Причина: {reason}",
  "settings.on": "Включено",

  "set.WHISPER_DEVICE": "Устройство",
  "set.WHISPER_MODEL": "Модель",
  "set.WHISPER_COMPUTE_TYPE": "Тип вычислений",
  "set.WHISPER_LANGUAGE": "Язык речи",
  "set.WHISPER_TASK": "Режим",
  "set.WHISPER_BEAM": "Ширина луча",
  "set.WHISPER_PATIENCE": "Терпение поиска",
  "set.WHISPER_LENGTH_PENALTY": "Штраф за длину",
  "set.WHISPER_CONDITION_PREV": "Учитывать предыдущий текст",
  "set.WHISPER_VAD_MIN_SIL_MS": "Минимальная пауза, мс",
  "set.WHISPER_PROMPT": "Подсказка",
  "set.WHISPER_BATCH_SIZE": "Пакетное декодирование",
  "set.WHISPER_WORD_TIMESTAMPS": "Время каждого слова",
  "set.WHISPER_MULTILINGUAL": "Язык каждого окна",
  "help.WHISPER_DEVICE": "auto — видеокарта (CUDA), если есть, иначе процессор; cuda — только видеокарта; cpu — только процессор.",
  "help.WHISPER_MODEL": "Имя модели (base, tiny.en, small, large-v3…) или папка с моделью CTranslate2. Без интернета доступны base и tiny.en.",
  "help.WHISPER_COMPUTE_TYPE": "auto — float16 на видеокарте, int8 на процессоре.",
  "help.WHISPER_LANGUAGE": "Код языка записи (ru, en…); пусто — определить автоматически.",
  "help.WHISPER_TASK": "transcribe — расшифровка на языке записи; translate — перевод на английский средствами Whisper.",
  "help.WHISPER_BEAM": "Ширина лучевого поиска (1–20); 1 — жадный поиск. Шире — медленнее и не всегда точнее: 8 из спецификации вдвое медленнее 5 и не точнее.",
  "help.WHISPER_PATIENCE": "Коэффициент терпения лучевого поиска (больше 0, до 10).",
  "help.WHISPER_LENGTH_PENALTY": "Экспоненциальный штраф за длину при лучевом поиске (0–10).",
  "help.WHISPER_CONDITION_PREV": "Передавать текст предыдущего окна как контекст следующему (только при последовательном декодировании).",
  "help.WHISPER_VAD_MIN_SIL_MS": "Детектор речи: самая короткая пауза (мс), которая разделяет речь; 0 выключает детектор.",
  "help.WHISPER_PROMPT": "Начальная подсказка: словарь и стиль (имена, термины).",
  "help.WHISPER_BATCH_SIZE": "N — пакетное декодирование, по N фрагментов речи (до 30 с) сразу: быстрее на процессоре и в разы быстрее на GPU. 0 (или выключенный детектор речи) — последовательное, как в спецификации.",
  "help.WHISPER_WORD_TIMESTAMPS": "Время начала и конца каждого слова (words у фраз в результатах и в JSON; субтитры режутся по словам). Выключено — только фразы, немного быстрее.",
  "help.WHISPER_MULTILINGUAL": "Для записей, где говорят на нескольких языках: язык определяется для каждого окна (30 с в последовательном режиме, каждого фрагмента речи в пакетном), у каждой фразы свой language. Выключено — один язык на весь файл. Заданный язык (WHISPER_LANGUAGE) при этом не действует. Модели только для английского (tiny.en) это не меняет.",

  "reset.title": "Жёсткий сброс",
  "reset.intro": "Отменяет все задачи в очереди (они останутся в истории как отменённые) и перезагружает модель. Задача, которая уже выполняется, продолжит работу.",
  "reset.button": "Сбросить очередь и модель…",
  "reset.confirmTitle": "Выполнить жёсткий сброс?",
  "reset.confirmMessage": "Будет отменено задач в очереди: {count}. Модель будет перезагружена перед следующей задачей.",
  "reset.confirm": "Сбросить",
  "reset.done": "Сброс выполнен: отменено задач — {count}.",

  "key.button": "API-ключ",
  "key.title": "Нужен API-ключ",
  "key.intro": "Сервис требует ключ доступа. Его выдаёт администратор; ключ сохранится в этом браузере.",
  "key.label": "API-ключ",
  "key.save": "Сохранить",
  "key.forget": "Забыть ключ",
  "key.invalid": "Ключ не подошёл.",

  "error.network": "нет связи с сервисом",
  "error.generic": "Ошибка: {detail}",

  "unit.B": "Б",
  "unit.KB": "КБ",
  "unit.MB": "МБ",
  "unit.GB": "ГБ",
};

const en = {
  "skip": "Skip to content",
  "nav.label": "Sections",
  "nav.tasks": "Tasks",
  "nav.settings": "Settings",
  "lang.label": "Interface language",
  "theme.dark": "Dark theme",
  "common.refresh": "Refresh",
  "common.cancel": "Cancel",
  "common.close": "Close",
  "common.copy": "Copy",
  "common.copied": "Copied",
  "common.copyFailed": "Could not copy: select the text and press Ctrl+C.",
  "common.delete": "Delete",
  "common.yes": "yes",
  "common.no": "no",

  "health.connecting": "Connecting…",
  "health.offline": "Service unreachable",
  "health.noWorker": "No worker running",
  "health.ready": "Service ready",
  "health.notReady": "No model loaded",
  "health.queue": "queue: {count}",
  "health.fallback": "⚠ fallback model settings",
  "health.title": "Version {version}. Model: {model}, device: {device}, compute: {compute}.",
  "worker.starting": "starting",
  "worker.idle": "ready",
  "worker.busy": "working",
  "worker.loading": "loading model",
  "worker.error": "error",
  "worker.stopped": "stopped",
  "worker.unresponsive": "not responding",

  "live.live": "Live updates",
  "live.polling": "Updates every 2 seconds",
  "live.offline": "Service unreachable",
  "live.connecting": "Connecting…",

  "upload.title": "New transcription",
  "upload.drop": "Drop audio or video files here",
  "upload.pick": "Choose files",
  "upload.formats": "MP3, WAV, M4A, FLAC, OGG, OPUS, WEBM, WMA, AMR, and video MP4, MKV, MOV, AVI",
  "upload.autoCreate": "Queue a task right after upload",
  "upload.listLabel": "File uploads",
  "upload.queued": "Waiting to upload",
  "upload.progress": "{loaded} of {total} · {percent}%",
  "upload.processing": "Checking the file…",
  "upload.done": "Uploaded",
  "upload.taskCreated": "Task queued",
  "upload.rejected": "File rejected: {detail}",
  "upload.failed": "Upload failed: {detail}",
  "upload.cancelled": "Upload cancelled",
  "upload.cancel": "Cancel upload",
  "upload.cancelNamed": "Cancel upload of {name}",
  "upload.dismiss": "Remove from list",
  "upload.dismissNamed": "Remove {name} from the list",
  "upload.progressLabel": "Uploading {name}",
  "upload.createTask": "Create task",

  "options.title": "Task options",
  "options.hint": "An empty field takes the value from the global settings.",
  "options.language": "Language",
  "options.model": "Model",
  "options.task": "Mode",
  "options.beam": "Beam size",
  "options.prompt": "Prompt (names, terms)",
  "options.asGlobal": "As in settings",
  "options.globalValue": "as in settings: {value}",
  "options.auto": "detect",
  "options.transcribe": "Transcribe",
  "options.translate": "Translate to English",
  "options.multilingual": "Several languages in the recording",
  "options.multilingualOn": "Yes: each window's language",
  "options.multilingualOff": "No: one language per file",

  "files.title": "Uploaded files",
  "files.empty": "No files yet.",
  "files.createTask": "Create task",
  "files.createTaskNamed": "Create a task for {name}",
  "files.deleteNamed": "Delete file {name}",
  "files.deleteTitle": "Delete the file?",
  "files.deleteMessage": "“{name}” will be deleted from the server.",
  "files.deleted": "File deleted",

  "tasks.title": "Tasks",
  "tasks.filter": "Filter by status",
  "tasks.empty": "No tasks.",
  "tasks.emptyFiltered": "No tasks with this status.",
  "tasks.more": "Showing {shown} of {total}.",
  "tasks.created": "Task created: {id}",
  "tasks.copyId": "Copy task ID",
  "tasks.queue": "#{position} in queue",
  "tasks.eta": "≈ {eta} left",
  "tasks.open": "Open",
  "tasks.openNamed": "Open the transcript of {name}",
  "tasks.cancel": "Cancel",
  "tasks.cancelNamed": "Cancel the task for {name}",
  "tasks.deleteNamed": "Delete the task for {name}",
  "tasks.deleteTitle": "Delete the task?",
  "tasks.deleteMessage": "The task for “{name}” and its transcript will be deleted. The uploaded file stays.",
  "tasks.deleted": "Task deleted",
  "tasks.cancelled": "Task cancelled",
  "tasks.progressLabel": "Progress of {name}",
  "tasks.exports": "Download {name}",
  "tasks.statusChanged": "{name}: {status}",
  "tasks.options": "options: {options}",

  "filter.all": "All",
  "filter.PENDING": "Queued",
  "filter.IN_PROGRESS": "Running",
  "filter.COMPLETED": "Completed",
  "filter.FAILED": "Failed",
  "filter.CANCELLED": "Cancelled",
  "status.PENDING": "Queued",
  "status.IN_PROGRESS": "In progress",
  "status.COMPLETED": "Completed",
  "status.FAILED": "Failed",
  "status.CANCELLED": "Cancelled",

  "tx.back": "← Back to tasks",
  "tx.search": "Search the transcript",
  "tx.copy": "Copy all text",
  "tx.copied": "Text copied",
  "tx.help": "Click a phrase (or press Enter on it) to play it.",
  "tx.phrases": "Phrases",
  "tx.matches": "Found: {count} of {total}",
  "tx.noPhrases": "No speech was found in the recording.",
  "tx.notReady": "The transcript is not ready yet: {status}. This page updates by itself.",
  "tx.failed": "Transcription failed: {error}",
  "tx.undecodable":
    "Warning: {seconds} s of the recording could not be decoded (the file is damaged there) and were skipped; the transcript has gaps.",
  "tx.cancelled": "The task was cancelled; there is no transcript.",
  "tx.language": "language: {language}",
  "tx.phraseLanguage": "phrase language: {language}",
  "tx.duration": "duration: {duration}",
  "tx.playFrom": "Play from {time}",
  "tx.download": "Download:",
  "tx.notFound": "Task not found: {detail}",

  "settings.title": "Recognition settings",
  "settings.intro": "They apply to every new task and are kept in the database. Changing the model, device or compute type reloads the model before the next task.",
  "settings.save": "Save and apply",
  "settings.revert": "Discard changes",
  "settings.default": "Default: {value}",
  "settings.empty": "empty",
  "settings.changed": "changed",
  "settings.useDefault": "Restore",
  "settings.useDefaultNamed": "Restore the default of {name}",
  "settings.noChanges": "Nothing changed.",
  "settings.saving": "Saving…",
  "settings.saved": "Saved.",
  "settings.savedReload": "Saved. The model reloads before the next task.",
  "settings.invalid": "Correct the marked field.",
  "settings.loadFailed": "Could not load the settings: {detail}",
  "settings.fallback": "The saved model, device or compute type cannot be loaded, so tasks run with the model {model} ({device}, {compute}). Correct or restore the setting. The reason: {reason}",
  "settings.on": "On",

  "set.WHISPER_DEVICE": "Device",
  "set.WHISPER_MODEL": "Model",
  "set.WHISPER_COMPUTE_TYPE": "Compute type",
  "set.WHISPER_LANGUAGE": "Spoken language",
  "set.WHISPER_TASK": "Mode",
  "set.WHISPER_BEAM": "Beam size",
  "set.WHISPER_PATIENCE": "Beam patience",
  "set.WHISPER_LENGTH_PENALTY": "Length penalty",
  "set.WHISPER_CONDITION_PREV": "Use previous text as context",
  "set.WHISPER_VAD_MIN_SIL_MS": "Minimum silence, ms",
  "set.WHISPER_PROMPT": "Prompt",
  "set.WHISPER_BATCH_SIZE": "Batched decoding",
  "set.WHISPER_WORD_TIMESTAMPS": "Word timings",
  "set.WHISPER_MULTILINGUAL": "Language of each window",

  "reset.title": "Hard reset",
  "reset.intro": "Cancels every queued task (kept in the history as cancelled) and reloads the model. A task that is already running carries on.",
  "reset.button": "Reset queue and model…",
  "reset.confirmTitle": "Run a hard reset?",
  "reset.confirmMessage": "Queued tasks to cancel: {count}. The model reloads before the next task.",
  "reset.confirm": "Reset",
  "reset.done": "Reset done: {count} task(s) cancelled.",

  "key.button": "API key",
  "key.title": "API key required",
  "key.intro": "The service requires an access key. Your administrator issues it; it is kept in this browser.",
  "key.label": "API key",
  "key.save": "Save",
  "key.forget": "Forget key",
  "key.invalid": "The key was not accepted.",

  "error.network": "the service cannot be reached",
  "error.generic": "Error: {detail}",

  "unit.B": "B",
  "unit.KB": "KB",
  "unit.MB": "MB",
  "unit.GB": "GB",
};

const DICTIONARIES = { ru, en };
export const LANGUAGES = Object.keys(DICTIONARIES);
const STORAGE_KEY = "transcriber.lang";
const listeners = new Set();
let current = document.documentElement.lang === "en" ? "en" : "ru";

export function lang() {
  return current;
}

export function locale() {
  return current === "en" ? "en-GB" : "ru-RU";
}

/** The string for ``key`` in the current language, with {placeholders} filled. */
export function t(key, params = {}) {
  const text = DICTIONARIES[current][key] ?? ru[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in params ? String(params[name]) : match));
}

/** Whether the current language has its own string for ``key`` (English help falls back to the server). */
export function has(key) {
  return key in DICTIONARIES[current];
}

/** Translate the static page: data-i18n sets the text, data-i18n-<attribute> sets that attribute. */
export function translate(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) {
    node.textContent = t(node.dataset.i18n);
  }
  for (const attr of ["aria-label", "placeholder", "title"]) {
    for (const node of root.querySelectorAll(`[data-i18n-${attr}]`)) {
      node.setAttribute(attr, t(node.getAttribute(`data-i18n-${attr}`)));
    }
  }
}

export function setLang(next) {
  if (!(next in DICTIONARIES)) return;
  current = next;
  document.documentElement.lang = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Storage disabled: the choice lasts until the page is closed.
  }
  translate();
  for (const listener of listeners) listener(next);
}

export function onLangChange(listener) {
  listeners.add(listener);
}
