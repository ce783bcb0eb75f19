;;; eglot_package_probe.el --- Emacs driving extensions/emacs/codescaler.el  -*- lexical-binding: t -*-

;; For tests/editors/test_emacs_setup.py:   emacs --batch -Q -l eglot_package_probe.el
;;
;; Unlike tests/lsp/clients/eglot_probe.el (eglot configured by hand), the server here is configured
;; and started only by the package: its options, `codescaler-setup' (eglot-server-programs, the
;; python-mode hook) and eglot-ensure.  Keys go through `execute-kbd-macro', so the command loop looks
;; them up in the package's keymaps and runs `post-command-hook' as for a user.
;;
;; Environment: the variables of tests/lsp/editor_probe.py `probe_vars' (CODESCALER_PROBE_CMD, _POLICY,
;; _REWARD, _FILE, _PIDFILE) plus
;;   CODESCALER_PROBE_PACKAGE     the folder of codescaler.el
;;   CODESCALER_PROBE_TOKEN_FILE  a token file for `codescaler-token-file'
;; Prints one JSON object per line on stdout ({"event": ...}); exits 0 when every step ran.

;;; Code:

(require 'package)
(add-to-list 'package-directory-list "/usr/share/emacs/site-lisp/elpa") ; Debian's elpa-eglot
(package-initialize)
(require 'json)
(require 'cl-lib)

(set-language-environment "UTF-8")
(prefer-coding-system 'utf-8)
(setq locale-coding-system 'utf-8)

(defconst probe-line "# 日本語 😀 note: "
  "A comment line: nearly any single-line suggestion keeps the document valid.")
(defconst probe-step-timeout 30)
(defconst probe-load-timeout 90)

(defun probe-env (name)
  (let ((value (getenv name)))
    (if (or (null value) (string-empty-p value))
        (error "Missing environment variable %s" name)
      value)))

(defun probe-emit (event &rest fields)
  "Print EVENT and FIELDS (a plist with keyword keys) as one JSON line.
Characters that Python's splitlines() takes for line ends are escaped (random models emit them)."
  (let* ((json-encoding-pretty-print nil)
         (json (json-encode (append (list :event event) fields))))
    (setq json (replace-regexp-in-string
                "[\u0085\u2028\u2029\x0b\x0c\x1c-\x1e\r]"
                (lambda (c) (format "\\u%04x" (string-to-char c))) json t t))
    (princ (concat "\n" json "\n"))))

(defun probe-wait (what timeout predicate)
  "Pump the event loop until PREDICATE returns non-nil (its value), or fail after TIMEOUT s."
  (let ((deadline (+ (float-time) timeout)) value)
    (while (and (not (setq value (funcall predicate))) (< (float-time) deadline))
      (accept-process-output nil 0.02))
    (or value (error "Timed out after %s s waiting for %s" timeout what))))

(defun probe-keys (keys)
  "Type KEYS (a `kbd' string or a vector) through the command loop."
  (condition-case nil
      (execute-kbd-macro (if (stringp keys) (kbd keys) keys))
    (quit nil)) ; C-g with nothing to dismiss is `keyboard-quit', as for a user
  (accept-process-output nil 0.01))

(defun probe-line1 ()
  (save-excursion (goto-char (point-min))
                  (buffer-substring-no-properties (point) (line-end-position))))

(defun probe-overlay ()
  "What the package's overlay shows: its text without the (2/3) hint, the hint, where."
  (let ((overlays (cl-remove-if-not (lambda (o) (overlay-get o 'codescaler))
                                    (overlays-in (point-min) (point-max)))))
    (if (null overlays)
        (list :count 0)
      (let* ((overlay (car overlays))
             (shown (overlay-get overlay 'after-string))
             (hint-at (text-property-any 0 (length shown) 'codescaler-hint t shown)))
        (list :count (length overlays)
              :text (substring-no-properties shown 0 hint-at)
              :hint (if hint-at (substring-no-properties shown hint-at) "")
              :position (overlay-start overlay)
              :cursor_property (and (get-text-property 0 'cursor shown) t)
              :face (format "%s" (get-text-property 0 'face shown)))))))

(defun probe-showing ()
  (let ((current (codescaler-inline-current)))
    (when current
      (list :text (plist-get current :text) :item (plist-get current :item)
            :index (plist-get current :index) :count (plist-get current :count)
            :invoked (if (plist-get current :invoked) t :json-false)
            :point (point) :overlay (probe-overlay)))))

(defun probe-request (server method params)
  "A request as eglot sends its own: `:deferred', so the buffer's edits go out first."
  (jsonrpc-request server method params :timeout probe-step-timeout :deferred method))

(defun probe-stats (server)
  (probe-request server :codescaler/stats (make-hash-table)))

(defun probe-file (path)
  (condition-case nil
      (with-temp-buffer (set-buffer-multibyte nil) (insert-file-contents-literally path) (buffer-string))
    (file-error "")))

(defvar probe-statuses nil)
(defvar probe-pids nil)

(defun probe-note-pid (server)
  (let ((pid (process-id (jsonrpc--process server)))
        (pidfile (getenv "CODESCALER_PROBE_PIDFILE")))
    (push pid probe-pids)
    (when (and pidfile (not (string-empty-p pidfile)))
      (with-temp-file pidfile (insert (mapconcat #'number-to-string probe-pids "\n") "\n")))
    pid))

(defun probe-run ()
  (let ((token-file (probe-env "CODESCALER_PROBE_TOKEN_FILE"))
        (file (probe-env "CODESCALER_PROBE_FILE")))
    ;; The user's configuration: the package and its options.
    (add-to-list 'load-path (probe-env "CODESCALER_PROBE_PACKAGE"))
    (require 'codescaler)
    (setq codescaler-command (append (json-parse-string (probe-env "CODESCALER_PROBE_CMD")
                                                        :array-type 'list)
                                     nil)
          codescaler-policy (probe-env "CODESCALER_PROBE_POLICY")
          codescaler-reward-model (probe-env "CODESCALER_PROBE_REWARD")
          codescaler-token-file token-file
          codescaler-n 4
          codescaler-max-new-tokens 16
          codescaler-line-mode "single"
          codescaler-settings '(:completion (:debounce_ms 0))
          codescaler-inline-delay 0.05
          jsonrpc-default-request-timeout 60)
    (add-hook 'codescaler-status-functions (lambda (state _message) (push state probe-statuses)))
    (codescaler-setup)
    ;; A temp folder is no VC project: let project.el treat it as a transient one.
    (add-hook 'project-find-functions (lambda (dir) (cons 'transient dir)))
    (let ((token (with-temp-buffer (insert-file-contents token-file) (string-trim (buffer-string))))
          (coding-system-for-write 'utf-8))
      (with-temp-file file (insert probe-line "\nx = 1\n"))
      ;; Opening the file: auto-mode-alist -> python-mode -> the package's eglot-ensure, which
      ;; connects after the command (the command loop runs post-command-hook; here, by hand).
      (let ((coding-system-for-read 'utf-8)) (find-file file))
      (run-hooks 'post-command-hook)
      (probe-wait "eglot to connect" probe-step-timeout #'eglot-managed-p)
      (let* ((server (eglot-current-server))
             (pid (probe-note-pid server))
             (cmdline (probe-file (format "/proc/%d/cmdline" pid)))
             (environ (probe-file (format "/proc/%d/environ" pid)))
             (events (with-current-buffer (jsonrpc-events-buffer server) (buffer-string))))
        (goto-char (point-min))
        (end-of-line)
        (probe-emit
         "client"
         :emacs emacs-version
         :major_mode (symbol-name major-mode)
         :server_class (symbol-name (eieio-object-class server))
         :inline_mode (if codescaler-inline-mode t :json-false)
         :inline_provider (if (eglot--server-capable :inlineCompletionProvider) t :json-false)
         :init_options (eglot-initialization-options server)
         :registered (if (cl-find-if #'codescaler--entry-p eglot-server-programs) t :json-false)
         :token_in_cmdline (if (string-search token cmdline) t :json-false)
         :token_in_environ (if (string-search (concat "CODESCALER_ENGINE_TOKEN=" token) environ) t :json-false)
         :token_in_events (if (string-search token events) t :json-false)
         :position (plist-get (eglot--TextDocumentPositionParams) :position)
         :tab_without_suggestion (format "%s" (key-binding (kbd "TAB")))
         :line probe-line)

        ;; 1. completion-at-point (C-M-i) shows *Completions*; the first (best) one is chosen there.
        (let* ((capf (eglot-completion-at-point)) ; what C-M-i will list, for the report
               (table (nth 2 capf))
               (sorter (completion-metadata-get (completion-metadata "" table nil) 'display-sort-function))
               (candidates (funcall sorter (all-completions "" table)))
               (items (mapcar (lambda (c) (get-text-property 0 'eglot--lsp-item c)) candidates)))
          (probe-keys "C-M-i")
          (let ((window (probe-wait "the *Completions* window" probe-step-timeout
                                    (lambda () (get-buffer-window "*Completions*")))))
            (with-selected-window window
              (goto-char (point-min))
              (next-completion 1)
              (choose-completion)))
          (probe-emit "completion"
                      :candidates (vconcat (mapcar #'substring-no-properties candidates))
                      :items (vconcat items)
                      :line_after (probe-line1)
                      :point_after (point)))
        ;; Back to the original line, cursor at its end.
        (erase-buffer)
        (insert probe-line "\nx = 1\n")
        (goto-char (point-min))
        (end-of-line)

        ;; 2. The package's trigger key (C-c /) asks for ranked items; M-] and M-[ cycle.
        (probe-keys "C-c /")
        (let ((first (probe-wait "an inline suggestion" probe-load-timeout #'probe-showing)))
          (probe-keys "M-]")
          (let ((next (probe-showing)))
            (probe-keys "M-[")
            (let ((prev (probe-showing)))
              (probe-emit "inline" :result (list :items (vector (plist-get first :item))))
              (probe-emit "cycle" :first first :next next :prev prev))))

        ;; 3. C-g hides it; TAB (the package's accept key) is then the mode's own TAB again.
        (probe-keys "C-g")
        (probe-emit "dismiss" :overlay (probe-overlay) :current (if (codescaler-inline-current) t :json-false)
                    :tab (format "%s" (key-binding (kbd "TAB"))))

        ;; 4. Ask again and accept with TAB: the text goes in, the server hears of it.
        (let ((before (plist-get (probe-stats server) :accepted)))
          (probe-keys "C-c /")
          (let ((shown (probe-wait "a suggestion to accept" probe-step-timeout #'probe-showing)))
            (probe-keys "TAB")
            (let ((line (probe-line1)) (point-after (point)) (overlay (probe-overlay)))
              (let ((stats (probe-wait "the server to count the acceptance" probe-step-timeout
                                       (lambda () (let ((s (probe-stats server)))
                                                    (and (> (plist-get s :accepted) before) s))))))
                (probe-emit "accept" :shown shown :line line :point point-after
                            :line_end (save-excursion (goto-char (point-min)) (line-end-position))
                            :overlay overlay :accepted_before before
                            :accepted_after (plist-get stats :accepted)
                            :shown_after (plist-get stats :shown)
                            :token_setting (plist-get (plist-get (plist-get stats :settings) :models)
                                                      :token))))))

        ;; 5. Typing asks by itself (automatic: one item); typing its first character keeps the rest.
        (probe-keys "SPC")
        (let* ((auto (probe-wait "an automatic suggestion" probe-step-timeout #'probe-showing))
               (requests (plist-get (probe-stats server) :requests))
               (first-char (aref (plist-get auto :text) 0)))
          ;; typed literally: a control character would be a command (C-q quotes it)
          (probe-keys (if (or (< first-char 32) (= first-char 127)) (vector ?\C-q first-char) (vector first-char)))
          (let ((typed (probe-showing)))
            (probe-emit "typed" :auto auto :first_char (string first-char) :after typed
                        :requests_before requests
                        :requests_after (plist-get (probe-stats server) :requests))))
        (probe-keys "C-g")

        ;; 6. codescaler-toggle: off (no items from the server, no suggestion), then on again.
        (codescaler-toggle)
        (let* ((off-status (codescaler-status-string))
               (params (append (eglot--TextDocumentPositionParams) '(:context (:triggerKind 1))))
               (off (probe-request server :textDocument/completion params)))
          (probe-keys "SPC")
          (accept-process-output nil 0.5)
          (let ((off-overlay (probe-overlay)))
            (codescaler-toggle)
            (let ((on (probe-request server :textDocument/completion params)))
              (probe-emit "toggle" :off_status off-status :on_status (codescaler-status-string)
                          :off_items (length (plist-get off :items)) :off_overlay off-overlay
                          :on_items (length (plist-get on :items))))))
        (probe-keys "C-g")

        ;; 7. codescaler-status shows the counters; codescaler-restart starts a new server.
        (codescaler-status)
        (probe-wait "the status message" probe-step-timeout
                    (lambda () (with-current-buffer "*Messages*"
                                 (save-excursion (goto-char (point-min))
                                                 (search-forward "| requests" nil t)))))
        (let ((status-message (with-current-buffer "*Messages*"
                                (save-excursion (goto-char (point-min))
                                                (search-forward "| requests")
                                                (buffer-substring-no-properties (line-beginning-position)
                                                                                (line-end-position))))))
          (codescaler-restart)
          (let ((second (probe-wait "a new server after codescaler-restart" probe-step-timeout
                                    (lambda () (let ((s (eglot-current-server)))
                                                 (and s (not (eq s server)) s))))))
            (probe-note-pid second)
            (goto-char (point-min))
            (end-of-line)
            (probe-keys "C-c /")
            (let ((shown (probe-wait "a suggestion from the restarted server" probe-load-timeout
                                     #'probe-showing)))
              (probe-emit "restart" :status_message status-message
                          :new_server (if (not (eq second server)) t :json-false)
                          :old_running (if (jsonrpc-running-p server) t :json-false)
                          :shown (if shown t :json-false)
                          :inline_mode (if codescaler-inline-mode t :json-false)))))
        (probe-emit "status" :statuses (vconcat (reverse probe-statuses)))))))

(let ((code 0))
  (condition-case err
      (probe-run)
    (error
     (setq code 1)
     (probe-emit
      "error"
      :message (error-message-string err)
      :messages (with-current-buffer "*Messages*" (buffer-string))
      :stderr (let ((buffer (get-buffer " *codescaler stderr*")))
                (if buffer (with-current-buffer buffer (buffer-string)) "")))))
  (dolist (server (apply #'append (hash-table-values eglot--servers-by-project)))
    (ignore-errors (eglot-shutdown server)))
  (dolist (buffer (buffer-list))
    (with-current-buffer buffer (set-buffer-modified-p nil)))
  (kill-emacs code))

;;; eglot_package_probe.el ends here
