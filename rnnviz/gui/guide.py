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
<li><b>Why gradients vanish or explode</b>: how much a change of the state t steps back moves the last
state, ||dh_T/dh_t||, against the lag (log scale), with the regime named in words: exploding (rising),
vanishing (falling), saturated (a large W_hh, but the units pinned at +-1).</li>
<li><b>Gradient norm per step</b>: the whole gradient before (blue) and after (orange) clipping.</li>
<li><b>Loss</b>: training loss per step, its average, and validation.</li>
<li><b>Walkthrough</b> (small models, the toy preset): every number of the next training iteration,
forward and backward per time step; N walks through its stages one at a time, Shift+N goes back.</li>
</ul>
<p><b>Step through a sentence</b>: type a probe sentence in the Text panel and press Enter, then Right
arrow feeds one token (Left steps back, Home starts over). Every number is computed with the current
weights.</p>
<p><b>Go back in time</b>: paused, drag the History slider or press [ and ]: every panel shows a recent
training step again, labelled "(history)"; Train goes on from the newest step.</p>
<p><b>Compare</b> (C): the run forks into A (as it is) and B (clipping toggled: off &lt;-&gt; by norm at the
shown threshold), trained on the same batches; Model &gt; Compare from scratch changes any one setting
(e.g. cell=lstm for the vanishing lesson). B is drawn dashed; the run box in the toolbar switches the
heatmap, bars and text; pressing Compare again ends it, keeping the run you choose.</p>
<p><b>Spikes</b>: a step whose gradient norm or loss jumps far above its recent median is marked with a
red cross on the curves. With "Pause on spikes" ticked (the exploding lesson ticks it) training also
pauses there: Roll back puts the weights from before it back, Continue trains on. After a NaN, Roll back
puts back the weights of the last calm step, from before the loss began to climb.</p>
<p><b>Generate</b> (Ctrl+G): the language model writes after a prime of yours (temperature 0: always the
most likely token), now or every N steps while it trains; "Step through this" makes the text the probe.
<b>Check gradients</b> (Ctrl+Shift+G): backpropagation's gradient of a few weights beside a finite
difference, and their relative error.</p>
"""
