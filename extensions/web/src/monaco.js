// The parts of Monaco this page uses: the editor core, the contributions for editing, inline suggestions
// (ghost text) and the suggest widget, and syntax colouring for the languages codescaler completes.
// (monaco-editor's full entry point would also bundle the TypeScript/CSS/HTML/JSON language services.)
// "@monaco/" is monaco-editor/esm/vs/ (vite.config.js): its package exports do not reach the CSS files.
import * as monaco from "@monaco/editor/editor.api.js";
import EditorWorker from "@monaco/editor/editor.worker.js?worker";

import "@monaco/base/browser/ui/codicons/codicon/codicon.css";
import "@monaco/base/browser/ui/codicons/codicon/codicon-modifiers.css";
import "@monaco/editor/browser/coreCommands.js";
import "@monaco/editor/browser/widget/codeEditor/codeEditorWidget.js";
import "@monaco/editor/common/standaloneStrings.js";
import "@monaco/editor/contrib/bracketMatching/browser/bracketMatching.js";
import "@monaco/editor/contrib/clipboard/browser/clipboard.js";
import "@monaco/editor/contrib/comment/browser/comment.js";
import "@monaco/editor/contrib/contextmenu/browser/contextmenu.js";
import "@monaco/editor/contrib/cursorUndo/browser/cursorUndo.js";
import "@monaco/editor/contrib/find/browser/findController.js";
import "@monaco/editor/contrib/folding/browser/folding.js";
import "@monaco/editor/contrib/hover/browser/hoverContribution.js";
import "@monaco/editor/contrib/indentation/browser/indentation.js";
import "@monaco/editor/contrib/inlineCompletions/browser/inlineCompletions.contribution.js";
import "@monaco/editor/contrib/inlineProgress/browser/inlineProgress.js";
import "@monaco/editor/contrib/linesOperations/browser/linesOperations.js";
import "@monaco/editor/contrib/multicursor/browser/multicursor.js";
import "@monaco/editor/contrib/snippet/browser/snippetController2.js";
import "@monaco/editor/contrib/suggest/browser/suggestController.js";
import "@monaco/editor/contrib/suggest/browser/suggestInlineCompletions.js";
import "@monaco/editor/contrib/tokenization/browser/tokenization.js";
import "@monaco/editor/contrib/wordHighlighter/browser/wordHighlighter.js";
import "@monaco/editor/contrib/wordOperations/browser/wordOperations.js";

import "@monaco/languages/definitions/cpp/register.js";
import "@monaco/languages/definitions/go/register.js";
import "@monaco/languages/definitions/java/register.js";
import "@monaco/languages/definitions/javascript/register.js";
import "@monaco/languages/definitions/python/register.js";
import "@monaco/languages/definitions/rust/register.js";
import "@monaco/languages/definitions/typescript/register.js";

self.MonacoEnvironment = { getWorker: () => new EditorWorker() };

export { monaco };
