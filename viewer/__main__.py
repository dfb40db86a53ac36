from latent_common.loading import finish, interrupts_while_loading

interrupts_while_loading("the viewer stopped before it opened")  # numpy, pygame, onnxruntime load next

from viewer.cli import main  # noqa: E402

finish(main())
