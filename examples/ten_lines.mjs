// The README's ten-line example, runnable from a clone after `npm install`:
//   node examples/ten_lines.mjs     (needs Fashion-MNIST: npx biaslearn data fetch fashion-mnist,
//                                    or apt-get install -y dataset-fashion-mnist)
import { MLP, loadFashionMnist } from '../dist/index.js';

const train = await loadFashionMnist({ split: 'train' }); // found by name: $BIASLEARN_DATA, ~/.cache/biaslearn, /usr/share/datasets
const test = await loadFashionMnist({ split: 'test' });
const model = await MLP.create({ inputSize: 784, hidden: [4096], outputSize: 10, train: 'bias', seed: 1 });
const history = await model.fit(train, { epochs: 5, batchSize: 256, validationData: test });
console.log(history.last('val_accuracy')); // ~0.8 with every weight frozen
await model.save('fmnist-bias.blck'); // seed + learned biases only
const again = await MLP.load('fmnist-bias.blck'); // weights regenerated from the seed
console.log((await again.evaluate(test)).accuracy);
