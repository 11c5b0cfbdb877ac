"""The quick guide shown by Help > Quick guide (plain HTML, no Qt)."""

GUIDE_HTML = """
<h3>rnnviz in one minute</h3>
<p><b>Train</b> (Space) starts and pauses training on the loaded text (File &gt; Open, or drop a .txt file
on the window). The panels show one sequence of the training batch, live.</p>
<ul>
<li><b>Hidden state</b>: every hidden unit (rows) after every token (columns); blue negative, red
positive. Hover for values; click a column to select that step in every panel (click it again to
follow the newest step).</li>
<li><b>Next token</b>: the network's probabilities for the next token; orange is the token that really
came next, and -log p is the loss it pays.</li>
<li><b>Gradients through time</b>: how strongly the last step's loss reaches back to each earlier state
(log scale). Falling to the left: vanishing gradients; rising: exploding.</li>
<li><b>Gradient norm per step</b>: the whole gradient before (blue) and after (orange) clipping.</li>
<li><b>Loss</b>: training loss per step, its average, and validation.</li>
</ul>
<p><b>Step through a sentence</b>: type a probe sentence in the Text panel and press Enter, then Right
arrow feeds one token (Left steps back, Home starts over). Every number is computed with the current
weights.</p>
<p><b>Go back in time</b>: paused, drag the History slider or press [ and ]: every panel shows a recent
training step again, labelled "(history)"; Train goes on from the newest step.</p>
<p><b>Compare clipping</b>: choose the preset "Exploding gradients", press Reset model and Train, then
switch Clipping between off and by global norm: the old curves stay on the gradient plot, dimmed.</p>
"""
