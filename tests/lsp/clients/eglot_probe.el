;;; eglot_probe.el --- Emacs + eglot as a real LSP client of `codescaler lsp'  -*- lexical-binding: t -*-

;; For tests/lsp/test_emacs.py:   emacs --batch -Q -l eglot_probe.el
;;
;; Environment:
;;   CODESCALER_PROBE_CMD     the server command, a JSON array (e.g. ["/path/codescaler", "lsp"])
;;   CODESCALER_PROBE_POLICY  tiny policy model folder
;;   CODESCALER_PROBE_REWARD  tiny reward model folder
;;   CODESCALER_PROBE_FILE    the Python file to create and edit (its folder is a transient project)
;;   CODESCALER_PROBE_PIDFILE (optional) where to write the server's process id, so the test can make
;;                            sure it is gone afterwards
;;
;; eglot starts the server, sends didOpen and converts point to an LSP position (eglot 1.9 knows only
;; UTF-16); the completion goes through eglot's real `completion-at-point' function: its table gives the
;; candidates, its display-sort-function orders them, and its :exit-function applies the chosen item's
;; textEdit, as M-TAB / company / corfu would.  eglot 1.9 has no inline-completion UI, so that request is
;; sent raw on eglot's connection.  Prints one JSON object per line on stdout:
;; {"event": "client"|"completion"|"inline"|"error", ...}.  Exits 0 when every step ran, 1 otherwise.

;;; Code:

(require 'package)
(add-to-list 'package-directory-list "/usr/share/emacs/site-lisp/elpa") ; Debian's elpa-eglot
(package-initialize)
(require 'eglot)
(require 'json)

(set-language-environment "UTF-8")
(prefer-coding-system 'utf-8)
(setq locale-coding-system 'utf-8)

(defconst codescaler-probe-line "# 日本語 😀 note: "
  "A comment line: nearly any single-line candidate keeps the document valid.")

;; The first request waits for the models to load: give it more than jsonrpc's default 10 s.
(setq jsonrpc-default-request-timeout 60)

(defun codescaler-probe-env (name)
  (let ((value (getenv name)))
    (if (or (null value) (string-empty-p value))
        (error "Missing environment variable %s" name)
      value)))

(defun codescaler-probe-emit (event &rest fields)
  "Print EVENT and FIELDS (a plist with keyword keys) as one JSON line."
  (let ((json-encoding-pretty-print nil))
    (princ (concat (json-encode (append (list :event event) fields)) "\n"))))

(defun codescaler-probe-run ()
  (let* ((command (append (json-parse-string (codescaler-probe-env "CODESCALER_PROBE_CMD")
                                             :array-type 'list)
                          nil))
         (options `(:models (:policy ,(codescaler-probe-env "CODESCALER_PROBE_POLICY")
                             :reward_model ,(codescaler-probe-env "CODESCALER_PROBE_REWARD"))
                    :completion (:n 4 :max_new_tokens 16 :line_mode "single" :debounce_ms 0)))
         (file (codescaler-probe-env "CODESCALER_PROBE_FILE")))
    (setq eglot-server-programs
          `((python-mode . (,@command :initializationOptions ,options))))
    ;; A temp folder is no VC project: let project.el treat it as a transient one.
    (add-hook 'project-find-functions (lambda (dir) (cons 'transient dir)))
    (let ((coding-system-for-write 'utf-8))
      (with-temp-file file (insert codescaler-probe-line "\nx = 1\n")))
    (let ((coding-system-for-read 'utf-8)) (find-file file))
    (python-mode)
    (apply #'eglot (eglot--guess-contact))
    ;; In batch the initialize handshake completes only while the event loop is pumped.
    (let ((deadline (+ (float-time) 30)))
      (while (and (not (eglot-managed-p)) (< (float-time) deadline))
        (accept-process-output nil 0.1)))
    (unless (eglot-managed-p) (error "eglot did not connect within 30 s"))
    (let ((server (eglot--current-server-or-lose))
          (pidfile (getenv "CODESCALER_PROBE_PIDFILE")))
      (when (and pidfile (not (string-empty-p pidfile)))
        (with-temp-file pidfile (insert (format "%d\n" (process-id (jsonrpc--process server))))))
      (goto-char (point-min))
      (end-of-line)                     ; the cursor: end of the comment line
      (codescaler-probe-emit
       "client"
       :emacs emacs-version
       :position (plist-get (eglot--TextDocumentPositionParams) :position)
       :line codescaler-probe-line
       :inline_provider (if (eglot--server-capable :inlineCompletionProvider) t :json-false))
      ;; The real capf: what M-TAB / company / corfu call.
      (let* ((capf (eglot-completion-at-point))
             (start (nth 0 capf))
             (end (nth 1 capf))
             (table (nth 2 capf))
             (props (nthcdr 3 capf))
             (sorter (completion-metadata-get (completion-metadata "" table nil) 'display-sort-function))
             (candidates (all-completions (buffer-substring start end) table))
             (sorted (if sorter (funcall sorter (copy-sequence candidates)) candidates))
             (chosen (car sorted))
             (items (vconcat (mapcar (lambda (c) (get-text-property 0 'eglot--lsp-item c)) sorted)))
             (candidates-text (vconcat (mapcar #'substring-no-properties sorted))))
        (when chosen
          ;; Accept the best one as `completion-in-region' does: insert the candidate's text (a copy:
          ;; `completion--replace' strips the properties of what it inserts), then run the exit function,
          ;; which replaces it with the item's textEdit.
          (completion--replace start end (copy-sequence chosen))
          (funcall (plist-get props :exit-function) chosen 'finished))
        (codescaler-probe-emit
         "completion"
         :candidates candidates-text
         :items items
         :buffer_after (buffer-substring-no-properties (point-min) (point-max))))
      ;; Back to the original text and cursor for the inline request.
      (erase-buffer)
      (insert codescaler-probe-line "\nx = 1\n")
      (goto-char (point-min))
      (end-of-line)
      ;; `:deferred', as eglot sends its own requests: the buffer changes go out (didChange) first.
      (let ((inline (jsonrpc-request server :textDocument/inlineCompletion
                                     (append (eglot--TextDocumentPositionParams)
                                             '(:context (:triggerKind 1)))
                                     :deferred :textDocument/inlineCompletion
                                     :timeout 60)))
        (codescaler-probe-emit "inline"
                               :position (plist-get (eglot--TextDocumentPositionParams) :position)
                               :result inline)))))

(let ((code 0))
  (condition-case err
      (codescaler-probe-run)
    (error
     (setq code 1)
     (codescaler-probe-emit
      "error"
      :message (error-message-string err)
      :stderr (let ((buffer (seq-find (lambda (b) (string-match-p "EGLOT.*stderr" (buffer-name b)))
                                      (buffer-list))))
                (if buffer (with-current-buffer buffer (buffer-string)) "")))))
  (let ((server (ignore-errors (eglot--current-server-or-lose))))
    (when server
      (ignore-errors (eglot-shutdown server))))
  (set-buffer-modified-p nil)
  (kill-emacs code))

;;; eglot_probe.el ends here
