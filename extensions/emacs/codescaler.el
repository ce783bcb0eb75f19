;;; codescaler.el --- Reward-ranked AI code completions  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1") (eglot "1.9") (jsonrpc "1.0.14"))
;; Keywords: tools, languages, convenience

;; This file is not part of GNU Emacs.

;;; Commentary:

;; codescaler samples several completions from a code model and offers the ones a reward model ranks
;; best.  Its language server, `codescaler lsp', answers `textDocument/completion' (the items appear
;; in `completion-at-point', M-TAB, company, corfu, best first) and LSP 3.18
;; `textDocument/inlineCompletion', which eglot 1.9 does not show: `codescaler-inline-mode' draws those
;; as an overlay after point ("ghost text") that TAB accepts.
;;
;; Setup (see docs/editors/emacs.md in the codescaler repository):
;;
;;   (require 'codescaler)
;;   (setq codescaler-policy "Qwen/Qwen2.5-Coder-1.5B"
;;         codescaler-reward-model "LARK-Lab/CodeScaler-1.7B")
;;   (codescaler-setup)
;;
;; Loading this file changes nothing; `codescaler-setup' registers the server in
;; `eglot-server-programs' for `codescaler-modes' (eglot runs one server per buffer: in those modes
;; codescaler replaces another Python/JS/... language server) and, with `codescaler-auto-start',
;; starts eglot in them.  The settings are read when the server starts: after changing them,
;; `codescaler-restart'.
;;
;; The engine token (`codescaler-token-file') is read when the server starts and handed to it in its
;; environment (CODESCALER_ENGINE_TOKEN): never on its command line, which `ps' shows to every user,
;; nor in the LSP settings, which eglot's events buffer records.

;;; Code:

(require 'cl-lib)
(require 'eglot)
(require 'jsonrpc)
(require 'subr-x)

(defgroup codescaler nil
  "AI code completions ranked by a reward model."
  :group 'tools
  :prefix "codescaler-")

;;;; Options

(defcustom codescaler-command '("codescaler" "lsp")
  "The language server command: a program and its arguments.
For example (\"~/venvs/cs/bin/codescaler\" \"lsp\"
              \"--config\" \"/path/config.toml\").
Never put the engine token here: see `codescaler-token-file'."
  :type '(repeat string))

(defcustom codescaler-policy nil
  "Code model: a local folder or hub id (settings models.policy)."
  :type '(choice (const :tag "From the config file" nil) string))

(defcustom codescaler-reward-model nil
  "Reward model: a local folder or hub id (settings models.reward_model)."
  :type '(choice (const :tag "From the config file" nil) string))

(defcustom codescaler-engine-url nil
  "A running `codescaler serve', e.g. \"ws://gpu-host:8765\".
Used instead of loading models in the language server."
  :type '(choice (const :tag "Load models in the server" nil) string))

(defcustom codescaler-token-file nil
  "File holding the engine's token (make it readable by you only)."
  :type '(choice (const nil) file))

(defcustom codescaler-n nil
  "Candidates sampled per request (completion.n; the server's default is 8)."
  :type '(choice (const nil) integer))

(defcustom codescaler-max-new-tokens nil
  "Longest candidate, in tokens (completion.max_new_tokens; default 64)."
  :type '(choice (const nil) integer))

(defcustom codescaler-line-mode nil
  "Single or multi-line suggestions (completion.line_mode; default \"auto\")."
  :type '(choice (const nil) (const "auto") (const "single") (const "multi")))

(defcustom codescaler-threshold nil
  "Suggest nothing whose shaped reward is lower (completion.threshold)."
  :type '(choice (const nil) number))

(defcustom codescaler-settings nil
  "More server settings: a plist with the sections of its config file.
For example (:completion (:temperature 0.6 :invoked_items 5)
             :languages (:markdown :json-false)).
The options above take precedence over the same keys here."
  :type 'sexp)

(defcustom codescaler-modes
  '((python-mode :language-id "python")
    (python-ts-mode :language-id "python")
    (js-mode :language-id "javascript")
    (js-ts-mode :language-id "javascript")
    (typescript-mode :language-id "typescript")
    (typescript-ts-mode :language-id "typescript")
    (tsx-ts-mode :language-id "typescriptreact")
    (go-mode :language-id "go")
    (go-ts-mode :language-id "go")
    (rust-mode :language-id "rust")
    (rust-ts-mode :language-id "rust")
    (java-mode :language-id "java")
    (java-ts-mode :language-id "java")
    (c++-mode :language-id "cpp")
    (c++-ts-mode :language-id "cpp"))
  "Major modes served by codescaler, in `eglot-server-programs' form.
The server checks the syntax of suggestions in these languages."
  :type '(repeat (choice symbol (list symbol (const :language-id) string))))

(defcustom codescaler-auto-start t
  "Non-nil: `codescaler-setup' starts eglot in `codescaler-modes'.
That is, it adds `eglot-ensure' to their hooks."
  :type 'boolean)

(defcustom codescaler-inline-preview t
  "Non-nil: show inline suggestions in the buffers codescaler serves.
See `codescaler-inline-mode'."
  :type 'boolean)

(defcustom codescaler-inline-auto t
  "Non-nil: ask for an inline suggestion when you stop typing.
Else only `codescaler-inline-complete' asks."
  :type 'boolean)

(defcustom codescaler-inline-delay 0.2
  "Seconds after the last change before asking for an inline suggestion."
  :type 'number)

(defcustom codescaler-request-timeout 60
  "Seconds to wait for a suggestion.
The first one waits for the models to load."
  :type 'number)

(defcustom codescaler-notify t
  "Non-nil: show each change of the server's status in the echo area.
The states: loading, ready, slow, error."
  :type 'boolean)

(defface codescaler-preview '((t :inherit shadow))
  "Face of inline suggestions.")

(defface codescaler-preview-count '((t :inherit font-lock-comment-face))
  "Face of the (2/3) hint while cycling through suggestions.")

(defvar codescaler-status-functions nil
  "Functions called with STATE and MESSAGE when the server's status changes.")

(defvar codescaler--enabled t
  "Nil after `codescaler-toggle' turned suggestions off.")

;;;; The server

(defclass codescaler-server (eglot-lsp-server)
  ((status :initform nil :accessor codescaler--status
           :documentation "The last `codescaler/status': (STATE . MESSAGE)."))
  :documentation "An eglot connection to `codescaler lsp'.")

(defun codescaler--compact (plist)
  "PLIST without its nil values."
  (cl-loop for (key value) on plist by #'cddr
           when value append (list key value)))

(defun codescaler--merge (base over)
  "Plist BASE with the keys of plist OVER (OVER wins)."
  (let ((result (copy-sequence base)))
    (cl-loop for (key value) on over by #'cddr
             do (setq result (plist-put result key value)))
    result))

(defun codescaler-settings ()
  "The settings sent to the server as initializationOptions.
A plist for a JSON object, with the sections of its config file."
  (let ((settings (copy-tree codescaler-settings)))
    (when (plist-get (plist-get settings :models) :token)
      (user-error "codescaler: put the engine token in `codescaler-token-file', %s"
                  "not in `codescaler-settings'"))
    (dolist (section `((:models . ,(codescaler--compact
                                    (list :policy codescaler-policy
                                          :reward_model codescaler-reward-model
                                          :engine codescaler-engine-url)))
                       (:completion . ,(codescaler--compact
                                        (list :n codescaler-n
                                              :max_new_tokens codescaler-max-new-tokens
                                              :line_mode codescaler-line-mode
                                              :threshold codescaler-threshold)))))
      (when (cdr section)
        (setq settings (plist-put settings (car section)
                                  (codescaler--merge (plist-get settings (car section)) (cdr section))))))
    (or settings (make-hash-table))))

(cl-defmethod eglot-initialization-options ((_server codescaler-server))
  "The settings, read when the server starts."
  (codescaler-settings))

(defun codescaler--read-token (file)
  "The token in FILE, or nil with a warning when it cannot be read."
  (let ((file (expand-file-name file)))
    (condition-case err
        (let ((token (with-temp-buffer
                       (insert-file-contents file)
                       (string-trim (buffer-string))))
              (modes (file-modes file)))
          (when (and modes (/= 0 (logand modes #o077)))
            (display-warning 'codescaler
                             (format "token file %s is readable by other users (chmod 600 it)" file)))
          (if (string-empty-p token)
              (progn (display-warning 'codescaler (format "token file %s is empty" file) :error) nil)
            token))
      (file-error
       (display-warning 'codescaler (format "cannot read token file %s: %s" file
                                            (error-message-string err))
                        :error)
       nil))))

(defun codescaler--make-process ()
  "Start `codescaler-command', the token (if any) in its environment."
  (let* ((program (car codescaler-command))
         (token (and codescaler-token-file (codescaler--read-token codescaler-token-file)))
         (process-environment
          (if token
              (cons (concat "CODESCALER_ENGINE_TOKEN=" token) process-environment)
            process-environment)))
    (unless (or (file-remote-p default-directory) (executable-find program))
      (user-error "codescaler: %s not found (pip install codescaler, or set `codescaler-command')"
                  program))
    (make-process :name "codescaler"
                  :command (cons (if (file-name-absolute-p program) (expand-file-name program) program)
                                 (cdr codescaler-command))
                  :connection-type 'pipe
                  :coding 'utf-8-emacs-unix
                  :noquery t
                  :stderr (get-buffer-create " *codescaler stderr*")
                  :file-handler t)))

(defun codescaler--contact (&optional _interactive)
  "The `eglot-server-programs' contact of codescaler."
  (list 'codescaler-server :process #'codescaler--make-process))

(defun codescaler--entry-p (entry)
  (eq (cdr-safe entry) #'codescaler--contact))

(cl-defmethod eglot-handle-notification
  ((server codescaler-server) (_method (eql codescaler/status)) &key state message &allow-other-keys)
  "Keep the server's status; report each change."
  (let ((new (cons state (or message ""))))
    (unless (equal new (codescaler--status server))
      (setf (codescaler--status server) new)
      (when codescaler-notify
        (message "codescaler: %s%s" state (if (string-empty-p (cdr new)) "" (concat ": " (cdr new)))))
      (run-hook-with-args 'codescaler-status-functions state (cdr new))
      (force-mode-line-update t))))

(defun codescaler--server ()
  "The codescaler server of this buffer, or nil."
  (let ((server (and (eglot-managed-p) (eglot-current-server))))
    (and (cl-typep server 'codescaler-server) server)))

(defun codescaler-status-string ()
  "The status for mode lines: \"ready\", \"loading\", \"off\", ... or nil."
  (let ((server (codescaler--server)))
    (when server
      (cond ((not codescaler--enabled) "off")
            ((codescaler--status server) (car (codescaler--status server)))
            (t "starting")))))

;;;; Commands

(defun codescaler--send-settings (server)
  (let ((settings (codescaler-settings)))
    (when (hash-table-p settings) (setq settings nil))
    (setq settings
          (plist-put settings :completion
                     (plist-put (copy-sequence (plist-get settings :completion)) :enabled
                                (if codescaler--enabled
                                    (let ((user (plist-member (plist-get codescaler-settings :completion)
                                                              :enabled)))
                                      (if user (cadr user) t))
                                  :json-false))))
    (jsonrpc-notify server :workspace/didChangeConfiguration (list :settings settings))))

(defun codescaler-toggle ()
  "Turn suggestions off (inline and completion items) or back on."
  (interactive)
  (setq codescaler--enabled (not codescaler--enabled))
  (dolist (server (cl-remove-if-not (lambda (s) (cl-typep s 'codescaler-server))
                                    (apply #'append (hash-table-values eglot--servers-by-project))))
    (codescaler--send-settings server))
  (unless codescaler--enabled
    (dolist (buffer (buffer-list))
      (with-current-buffer buffer (codescaler-inline-dismiss))))
  (force-mode-line-update t)
  (message "codescaler: %s" (if codescaler--enabled "on" "off"))
  codescaler--enabled)

(defun codescaler-restart ()
  "Restart this buffer's codescaler server.
It rereads the settings and the token file."
  (interactive)
  (let ((server (codescaler--server)))
    (unless server (user-error "codescaler: no codescaler server in this buffer"))
    (eglot-reconnect server)))

(defun codescaler-status ()
  "Show the status and the server's counters."
  (interactive)
  (let ((server (codescaler--server))
        (state (codescaler-status-string)))
    (unless server (user-error "codescaler: no codescaler server in this buffer"))
    (jsonrpc-async-request
     server :codescaler/stats (make-hash-table)
     :success-fn
     (lambda (stats)
       (let ((last (plist-get stats :last)))
         (message "codescaler: %s%s | requests %s, answered %s, accepted %s, shown %s%s"
                  state
                  (let ((m (cdr (codescaler--status server))))
                    (if (or (null m) (string-empty-p m)) "" (concat " (" m ")")))
                  (plist-get stats :requests) (plist-get stats :answered)
                  (plist-get stats :accepted) (plist-get stats :shown)
                  (if (plist-get last :total_s)
                      (format " | last %.0f ms (%s)" (* 1000 (plist-get last :total_s))
                              (plist-get last :cache))
                    ""))))
     :error-fn (lambda (err) (message "codescaler: stats failed: %S" err)))))

;;;; Inline suggestions (eglot 1.9 has no UI for textDocument/inlineCompletion)

(defvar-local codescaler--preview nil
  "The suggestion showing: plist :overlay :items :index :invoked :tick :suffix.
Items are plists :text (what goes after point), :start (point), :end
\(end of the text they replace, such as auto-closed brackets), :raw (the
server's item), :shown, :accepted.")

(defvar-local codescaler--preview-active nil
  "Non-nil while a suggestion shows: turns on `codescaler-inline-active-map'.")

(defvar-local codescaler--pending nil "The pending request: (SERVER . ID).")
(defvar-local codescaler--generation 0
  "Counts requests and dismissals: only the latest request's answer shows.")
(defvar-local codescaler--timer nil)
(defvar-local codescaler--last-tick nil)

(defvar codescaler-inline-active-map
  (let ((map (make-sparse-keymap)))
    (define-key map (kbd "TAB") #'codescaler-inline-accept)
    (define-key map (kbd "<tab>") #'codescaler-inline-accept)
    (define-key map (kbd "M-<right>") #'codescaler-inline-accept-word)
    (define-key map (kbd "M-<end>") #'codescaler-inline-accept-line)
    (define-key map (kbd "M-]") #'codescaler-inline-next)
    (define-key map (kbd "M-[") #'codescaler-inline-previous)
    (define-key map (kbd "C-g") #'codescaler-inline-dismiss)
    map)
  "Keys active while an inline suggestion shows.")

(defvar codescaler--emulation-alist
  `((codescaler--preview-active . ,codescaler-inline-active-map)))

(defvar codescaler-inline-mode-map
  (let ((map (make-sparse-keymap)))
    (define-key map (kbd "C-c /") #'codescaler-inline-complete)
    map)
  "Keys of `codescaler-inline-mode'.")

(defun codescaler--cancel ()
  "Forget the pending request (telling the server) and the scheduled one."
  (cl-incf codescaler--generation)
  (when (timerp codescaler--timer) (cancel-timer codescaler--timer))
  (setq codescaler--timer nil)
  (when codescaler--pending
    (ignore-errors
      (jsonrpc-notify (car codescaler--pending) :$/cancelRequest (list :id (cdr codescaler--pending))))
    (setq codescaler--pending nil)))

(defun codescaler--hide ()
  (when-let ((overlay (plist-get codescaler--preview :overlay)))
    (delete-overlay overlay))
  (setq codescaler--preview nil
        codescaler--preview-active nil))

(defun codescaler--items (result)
  "The items of RESULT placed at point.
Duplicates and items that do not fit are left out."
  (let ((items nil) (seen nil) (here (point)))
    (dolist (raw (append (if (vectorp result) result (plist-get result :items)) nil))
      (let* ((text (plist-get raw :insertText))
             (range (plist-get raw :range))
             (region (if range (eglot--range-region range) (cons here here)))
             (start (car region)) (end (cdr region)))
        (when (and (stringp text) (<= start here) (<= here end)
                   (= (line-number-at-pos start) (line-number-at-pos here)))
          (let ((before (buffer-substring-no-properties start here)))
            (when (string-prefix-p before text)
              (setq text (substring text (length before)))
              (unless (or (string-empty-p text) (member text seen))
                (push text seen)
                (push (list :text text :start here :end end :raw raw) items)))))))
    (nreverse items)))

(defun codescaler--request (kind callback)
  "Ask for inline completions; CALLBACK gets the items.
KIND is 1 (invoked) or 2 (automatic).  CALLBACK runs only if the buffer
and point did not change meanwhile."
  (let ((server (codescaler--server)))
    (when (and server codescaler--enabled)
      (codescaler--cancel)
      ;; Send the pending edits now rather than after eglot's idle timer: the request must see them.
      (eglot--signal-textDocument/didChange)
      (let* ((buffer (current-buffer))
             (generation codescaler--generation)
             (tick (buffer-chars-modified-tick))
             (here (point))
             (params (append (eglot--TextDocumentPositionParams)
                             (list :context (list :triggerKind kind))))
             (request
              (jsonrpc-async-request
               server :textDocument/inlineCompletion params
               :success-fn
               (lambda (result)
                 (when (buffer-live-p buffer)
                   (with-current-buffer buffer
                     (when (and (= generation codescaler--generation) ; the latest request wins
                                codescaler--enabled
                                (= tick (buffer-chars-modified-tick))
                                (= here (point)))
                       (setq codescaler--pending nil)
                       (funcall callback (codescaler--items result))))))
               :error-fn
               (lambda (err)
                 (when (buffer-live-p buffer)
                   (with-current-buffer buffer
                     (when (= generation codescaler--generation) (setq codescaler--pending nil))))
                 (unless (eql (plist-get err :code) -32800) ; cancelled
                   (message "codescaler: inline completion failed: %s" (plist-get err :message))))
               :timeout-fn #'ignore
               :timeout codescaler-request-timeout
               :deferred :textDocument/inlineCompletion)))
        (setq codescaler--pending (cons server (car request)))))))

(defun codescaler--show (items index &optional show-count invoked)
  "Show item INDEX (0-based) of ITEMS after point."
  (codescaler--hide)
  (let* ((item (nth index items))
         (text (plist-get item :text))
         (start (plist-get item :start))
         (replaced (buffer-substring-no-properties start (plist-get item :end)))
         ;; Auto-closed brackets the item replaces stay visible right after it: not drawn twice.
         (text (if (and (not (string-empty-p replaced)) (not (string-search "\n" text))
                        (string-suffix-p replaced text))
                   (substring text 0 (- (length text) (length replaced)))
                 text))
         (shown (concat (propertize text 'face 'codescaler-preview)
                        (if (and show-count (cdr items))
                            (propertize (format " (%d/%d)" (1+ index) (length items))
                                        'face 'codescaler-preview-count 'codescaler-hint t)
                          "")))
         (overlay (make-overlay start start nil nil t)))
    (unless (string-empty-p shown)
      (put-text-property 0 1 'cursor t shown)) ; the cursor stays before the suggestion
    (overlay-put overlay 'after-string shown)
    (overlay-put overlay 'codescaler t)
    (overlay-put overlay 'priority 1000)
    (setq codescaler--preview
          (list :overlay overlay :items items :index index :invoked invoked
                :tick (buffer-chars-modified-tick)
                :suffix (buffer-substring-no-properties start (line-end-position)))
          codescaler--preview-active t)
    (unless (plist-get item :shown)
      (plist-put item :shown t)
      (when-let ((server (codescaler--server)))
        (jsonrpc-notify server :textDocument/didShowCompletion (list :item (plist-get item :raw)))))))

(defun codescaler-inline-current ()
  "The suggestion showing, or nil.
A plist :text :item (the server's) :index :count :invoked :overlay."
  (when codescaler--preview
    (let* ((index (plist-get codescaler--preview :index))
           (items (plist-get codescaler--preview :items))
           (item (nth index items)))
      (list :text (plist-get item :text) :item (plist-get item :raw) :index index
            :count (length items) :invoked (plist-get codescaler--preview :invoked)
            :overlay (plist-get codescaler--preview :overlay)))))

(defun codescaler-inline-complete ()
  "Ask for suggestions at point now (several ranked ones to cycle through)."
  (interactive)
  (unless codescaler--enabled (user-error "codescaler: off (M-x codescaler-toggle)"))
  (codescaler--hide)
  (codescaler--request 1 (lambda (items)
                           (when items (codescaler--show items 0 t t)))))

(defun codescaler--cycle (delta)
  (cond
   ((null codescaler--preview) (codescaler-inline-complete))
   ((or (plist-get codescaler--preview :invoked)
        (cdr (plist-get codescaler--preview :items)))
    (let ((items (plist-get codescaler--preview :items)))
      (codescaler--show items (mod (+ (plist-get codescaler--preview :index) delta) (length items)) t
                        (plist-get codescaler--preview :invoked))))
   (t ;; only the automatic item: ask for the ranked list (the server answers from its cache)
    (let ((current (plist-get (nth (plist-get codescaler--preview :index)
                                   (plist-get codescaler--preview :items))
                              :text)))
      (codescaler--request
       1 (lambda (items)
           (when items
             (let ((at (or (cl-position current items
                                        :test (lambda (text item) (equal text (plist-get item :text))))
                           0)))
               (codescaler--show items (mod (+ at delta) (length items)) t t)))))))))

(defun codescaler-inline-next ()
  "Show the next ranked suggestion."
  (interactive)
  (codescaler--cycle 1))

(defun codescaler-inline-previous ()
  "Show the previous ranked suggestion."
  (interactive)
  (codescaler--cycle -1))

(defun codescaler-inline-dismiss ()
  "Hide the suggestion."
  (interactive)
  (codescaler--cancel)
  (codescaler--hide))

(defun codescaler--accept (part)
  "Insert the suggestion, or its next word or line (PART `word', `line')."
  (let* ((item (nth (plist-get codescaler--preview :index) (plist-get codescaler--preview :items)))
         (text (plist-get item :text))
         (chunk (pcase part
                  ('word (if (string-match (concat "\\`[[:space:]]*\\(?:[[:alnum:]_]+"
                                                   "\\|[^[:alnum:]_[:space:]]+\\)\\|\\`[[:space:]]+")
                                           text)
                             (match-string 0 text) text))
                  ('line (if (string-match "\\`\n?[^\n]*" text) (match-string 0 text) text))
                  (_ text)))
         (chunk (if (string-empty-p chunk) text chunk))
         (whole (>= (length chunk) (length text)))
         (server (codescaler--server))
         (raw (plist-get item :raw)))
    (codescaler--cancel)
    (codescaler--hide)
    (goto-char (plist-get item :start))
    (if whole
        (delete-region (point) (plist-get item :end)))
    (insert chunk)
    (if whole
        (when-let ((command (and server (plist-get raw :command))))
          ;; The item's command (codescaler.accepted) runs after the insertion, as the spec says.
          (jsonrpc-async-request server :workspace/executeCommand
                                 (list :command (plist-get command :command)
                                       :arguments (plist-get command :arguments))
                                 :success-fn #'ignore :error-fn #'ignore :timeout-fn #'ignore))
      (let ((accepted (+ (or (plist-get item :accepted) 0) (length chunk))))
        (when server
          (jsonrpc-notify server :textDocument/didPartiallyAcceptCompletion
                          (list :item raw :acceptedLength accepted)))
        (codescaler--show (list (list :text (substring text (length chunk)) :start (point)
                                      :end (+ (point) (- (plist-get item :end) (plist-get item :start)))
                                      :raw raw :shown t :accepted accepted))
                          0)))))

(defun codescaler-inline-accept ()
  "Insert the suggestion showing (or do what TAB does when none shows)."
  (interactive)
  (if codescaler--preview
      (codescaler--accept nil)
    (codescaler--fallback)))

(defun codescaler-inline-accept-word ()
  "Insert the next word of the suggestion."
  (interactive)
  (when codescaler--preview (codescaler--accept 'word)))

(defun codescaler-inline-accept-line ()
  "Insert the next line of the suggestion."
  (interactive)
  (when codescaler--preview (codescaler--accept 'line)))

(defun codescaler--fallback ()
  "Run what the keys that called this command mean without the suggestion map."
  (let* ((codescaler--preview-active nil)
         (command (key-binding (this-command-keys-vector) t)))
    (when (and command (not (eq command this-command)))
      (call-interactively command))))

(defconst codescaler--own-commands
  '(codescaler-inline-accept codescaler-inline-accept-word codescaler-inline-accept-line
    codescaler-inline-next codescaler-inline-previous codescaler-inline-dismiss
    codescaler-inline-complete))

(defun codescaler--typed-through ()
  "The user typed the start of the suggestion: keep the rest (no new request)."
  (let* ((items (plist-get codescaler--preview :items))
         (item (nth (plist-get codescaler--preview :index) items))
         (start (plist-get item :start)))
    (when (and (> (point) start)
               (= (line-number-at-pos start) (line-number-at-pos (point)))
               (equal (buffer-substring-no-properties (point) (line-end-position))
                      (plist-get codescaler--preview :suffix)))
      (let* ((typed (buffer-substring-no-properties start (point)))
             (kept nil) (index nil))
        (cl-loop for candidate in items for i from 0
                 for text = (plist-get candidate :text)
                 do (when (and (string-prefix-p typed text) (> (length text) (length typed)))
                      (when (= i (plist-get codescaler--preview :index)) (setq index (length kept)))
                      (push (list :text (substring text (length typed))
                                  :start (point) :end (+ (plist-get candidate :end) (length typed))
                                  :raw (plist-get candidate :raw) :shown (plist-get candidate :shown)
                                  :accepted (plist-get candidate :accepted))
                            kept)))
        (when index
          (codescaler--show (nreverse kept) index nil (plist-get codescaler--preview :invoked))
          t)))))

(defun codescaler--post-command ()
  (unless (memq this-command codescaler--own-commands)
    (let ((changed (not (eql codescaler--last-tick (buffer-chars-modified-tick)))))
      (when (and codescaler--preview
                 (or changed (/= (point) (plist-get (nth (plist-get codescaler--preview :index)
                                                          (plist-get codescaler--preview :items))
                                                     :start))))
        (unless (and changed (codescaler--typed-through))
          (codescaler-inline-dismiss)))
      (when (and changed codescaler-inline-auto codescaler--enabled (null codescaler--preview)
                 (not (minibufferp)) (not (region-active-p)))
        (codescaler--schedule))))
  (setq codescaler--last-tick (buffer-chars-modified-tick)))

(defun codescaler--schedule ()
  "Ask for an automatic suggestion after `codescaler-inline-delay'."
  (codescaler--cancel)
  (let ((buffer (current-buffer)))
    (setq codescaler--timer
          (run-with-timer
           codescaler-inline-delay nil
           (lambda ()
             (when (and (buffer-live-p buffer) (eq buffer (window-buffer (selected-window))))
               (with-current-buffer buffer
                 (setq codescaler--timer nil)
                 (codescaler--request 2 (lambda (items)
                                          (when items (codescaler--show items 0)))))))))))

;;;###autoload
(define-minor-mode codescaler-inline-mode
  "Inline suggestions from codescaler, shown after point.
\\<codescaler-inline-active-map>While one shows: \\[codescaler-inline-accept] accepts it, \
\\[codescaler-inline-accept-word] its next word,
\\[codescaler-inline-next] and \\[codescaler-inline-previous] cycle through the ranked ones,
\\[codescaler-inline-dismiss] hides it.
\\<codescaler-inline-mode-map>\\[codescaler-inline-complete] asks for suggestions at point."
  :lighter (:eval (let ((status (codescaler-status-string)))
                    (if status (concat " CS:" status) " CS")))
  :keymap codescaler-inline-mode-map
  (if codescaler-inline-mode
      (progn
        (add-to-list 'emulation-mode-map-alists 'codescaler--emulation-alist)
        (setq codescaler--last-tick (buffer-chars-modified-tick))
        (add-hook 'post-command-hook #'codescaler--post-command nil t))
    (remove-hook 'post-command-hook #'codescaler--post-command t)
    (codescaler-inline-dismiss)))

(defun codescaler--managed ()
  "Inline suggestions where codescaler serves the buffer.
Runs in `eglot-managed-mode-hook'."
  (if (and codescaler-inline-preview (codescaler--server))
      (codescaler-inline-mode 1)
    (when codescaler-inline-mode (codescaler-inline-mode -1))))

;;;; Setup

(defun codescaler--mode-symbols ()
  (mapcar (lambda (spec) (if (consp spec) (car spec) spec)) codescaler-modes))

;;;###autoload
(defun codescaler-setup ()
  "Serve `codescaler-modes' with `codescaler lsp' through eglot.
Registers the server in `eglot-server-programs' (first, so it wins
over other servers for those modes), shows inline suggestions in the
buffers it serves, and with `codescaler-auto-start' starts eglot in
those modes.  Calling it again applies changed options."
  (interactive)
  (setq eglot-server-programs
        (cons (cons codescaler-modes #'codescaler--contact)
              (cl-remove-if #'codescaler--entry-p eglot-server-programs)))
  (add-hook 'eglot-managed-mode-hook #'codescaler--managed)
  (dolist (mode (codescaler--mode-symbols))
    (let ((hook (intern (format "%s-hook" mode))))
      (if codescaler-auto-start
          (add-hook hook #'eglot-ensure)
        (remove-hook hook #'eglot-ensure)))))

(defun codescaler-unload-function ()
  "Undo `codescaler-setup'."
  (setq eglot-server-programs (cl-remove-if #'codescaler--entry-p eglot-server-programs))
  (remove-hook 'eglot-managed-mode-hook #'codescaler--managed)
  (dolist (mode (codescaler--mode-symbols))
    (remove-hook (intern (format "%s-hook" mode)) #'eglot-ensure))
  (setq emulation-mode-map-alists (delq 'codescaler--emulation-alist emulation-mode-map-alists))
  nil)

(provide 'codescaler)

;;; codescaler.el ends here
